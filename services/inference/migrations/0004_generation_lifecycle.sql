-- A generation its owner can follow and cancel: status 'canceled', the queue's order, per-user limits.
ALTER TABLE generations DROP CONSTRAINT generations_status_check;
ALTER TABLE generations ADD CONSTRAINT generations_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled'));
-- Queue position: queued generations ahead of one (ULIDs sort by creation time).
CREATE INDEX generations_queued_idx ON generations (id) WHERE status = 'queued';
-- The per-user limit counts a user's unfinished generations.
CREATE INDEX generations_unfinished_idx ON generations (owner_id) WHERE status IN ('queued', 'running');
-- ETA: seconds per image of the recently finished generations.
CREATE INDEX generations_finished_idx ON generations (finished_at DESC) WHERE status = 'succeeded';
