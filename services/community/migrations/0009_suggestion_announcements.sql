-- Suggestions already announced (`community.suggestion.created`), so each is announced once per
-- user: `key` is kind:subject_type:subject.
CREATE TABLE suggestion_announcements (
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text        NOT NULL,
    announced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
