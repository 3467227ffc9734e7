-- The audience's part in a refine: which community work an output was published as, and who
-- liked that work (from community.work.liked / .unliked; a redelivered event changes nothing).
ALTER TABLE generation_outputs ADD COLUMN work_id text;
CREATE INDEX generation_outputs_work_idx ON generation_outputs (work_id) WHERE work_id IS NOT NULL;
CREATE TABLE output_likes (
    work_id text NOT NULL,
    user_id text NOT NULL,
    liked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (work_id, user_id)
);
