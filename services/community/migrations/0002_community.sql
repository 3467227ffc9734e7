-- Users, follows, works, likes, comments, reports, collections, idempotency records.

-- Trending rank: engagement on a log scale plus creation time in units of 12.5 hours, so one
-- order of magnitude of engagement is worth half a day of recency. Because time enters as a
-- constant per work, a score only changes when engagement does: no periodic refresh is needed,
-- and `ORDER BY score DESC` over a plain B-tree index *is* the time-decayed ranking.
CREATE FUNCTION hot_score(likes integer, comments integer, created timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN log(greatest(1, likes + 2 * comments + 1)::double precision)
           + extract(epoch FROM created) / 45000.0;

-- array_to_string is only STABLE; tags are plain text so this wrapper is truly immutable.
CREATE FUNCTION tags_text(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(tags, ' ');

CREATE TABLE users (
    id text PRIMARY KEY,
    username text NOT NULL CHECK (username ~ '^[a-z0-9_]{3,32}$'),
    email text NOT NULL,
    password_hash text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    bio text NOT NULL DEFAULT '',
    allow_training boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE follows (
    follower_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id);

CREATE TABLE works (
    id text PRIMARY KEY,  -- ULID: ordering by id is ordering by creation time
    author_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    tags text[] NOT NULL DEFAULT '{}',
    asset_ids text[] NOT NULL,
    visibility text NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private')),
    origin text NOT NULL CHECK (origin IN ('human', 'ai', 'collab')),
    allow_training boolean NOT NULL DEFAULT false,
    model_id text,
    model_version integer,
    model_owner_id text,
    generation_id text,
    like_count integer NOT NULL DEFAULT 0,
    comment_count integer NOT NULL DEFAULT 0,
    report_count integer NOT NULL DEFAULT 0,
    hidden boolean NOT NULL DEFAULT false,  -- reported by enough users: out of feeds until reviewed
    score double precision NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,  -- first time it became public or unlisted
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', tags_text(tags)), 'A')
        || setweight(to_tsvector('english', description), 'B')
    ) STORED
);
-- Partial indexes over what feeds and listings may show.
CREATE INDEX works_author_idx ON works (author_id, id DESC);
CREATE INDEX works_listed_new_idx ON works (id DESC) WHERE visibility = 'public' AND NOT hidden;
CREATE INDEX works_listed_author_idx ON works (author_id, id DESC) WHERE visibility = 'public' AND NOT hidden;
CREATE INDEX works_trending_idx ON works (score DESC, id DESC) WHERE visibility = 'public' AND NOT hidden;
CREATE INDEX works_top_idx ON works (like_count DESC, id DESC) WHERE visibility = 'public' AND NOT hidden;
CREATE INDEX works_tags_idx ON works USING gin (tags);
CREATE INDEX works_search_idx ON works USING gin (search);

CREATE TABLE likes (
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    work_id text NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, work_id)
);
CREATE INDEX likes_work_idx ON likes (work_id, created_at);

CREATE TABLE comments (
    id text PRIMARY KEY,
    work_id text NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    author_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_work_idx ON comments (work_id, id);

CREATE TABLE reports (
    work_id text NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    reporter_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason text NOT NULL,
    details text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (work_id, reporter_id)
);

CREATE TABLE collections (
    id text PRIMARY KEY,
    owner_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    visibility text NOT NULL CHECK (visibility IN ('public', 'private')),
    training_set boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX collections_owner_idx ON collections (owner_id, id DESC);

CREATE TABLE collection_works (
    collection_id text NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    work_id text NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    position integer NOT NULL,
    PRIMARY KEY (collection_id, work_id)
);
CREATE INDEX collection_works_work_idx ON collection_works (work_id);

-- A replayed POST with the same Idempotency-Key returns the first answer instead of creating twice.
CREATE TABLE idempotency_keys (
    actor_id text NOT NULL,
    key text NOT NULL,
    operation text NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_id, operation, key)
);
