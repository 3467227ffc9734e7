-- Moderators review reported works: restoring one closes its reports (they stay on record, and the
-- same users cannot hide it again), removing one deletes the work. `works.report_count` counts open
-- reports only.
ALTER TABLE reports ADD COLUMN reviewed_at timestamptz, ADD COLUMN reviewed_by text;

-- The moderation queue: works with open reports, hidden ones and the most reported first.
CREATE INDEX works_reported_idx ON works (hidden DESC, report_count DESC, id DESC) WHERE report_count > 0;
