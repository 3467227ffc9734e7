-- Each output's distance to its nearest training work (shared/originality.py): {distance,
-- originality, near_copy, nearest_work_id}; NULL when the version ships no originality reference.
ALTER TABLE generation_outputs ADD COLUMN IF NOT EXISTS originality jsonb;
