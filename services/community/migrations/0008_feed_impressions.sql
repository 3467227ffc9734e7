-- What the for-you feed served to whom, from which candidate source, and whether the viewer liked
-- it afterwards: the evidence of the feed's bandit. One row per (viewer, work): a work served
-- again counts once, for the source that served it last; `served_at` is when it was first served
-- (works served before a visit go to the back of the feed). Bounded: each viewer keeps the most
-- recent rows only (pruned when the feed serves new ones).
CREATE TABLE feed_impressions (
    user_id   text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    work_id   text        NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    source    text        NOT NULL,
    served_at timestamptz NOT NULL DEFAULT now(),
    liked_at  timestamptz,
    PRIMARY KEY (user_id, work_id)
);
CREATE INDEX feed_impressions_recent ON feed_impressions (user_id, served_at DESC);
CREATE INDEX feed_impressions_work ON feed_impressions (work_id);
