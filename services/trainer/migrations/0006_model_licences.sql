-- Models carry SPDX identifiers like works (shared/contracts/licences.py), custom terms, and whether
-- their generated images may be used commercially.
UPDATE models SET licence = CASE licence
    WHEN 'all-rights-reserved' THEN 'LicenseRef-All-Rights-Reserved'
    WHEN 'cc-by-4.0' THEN 'CC-BY-4.0'
    WHEN 'cc-by-nc-4.0' THEN 'CC-BY-NC-4.0'
    WHEN 'cc0-1.0' THEN 'CC0-1.0'
    ELSE licence END;
ALTER TABLE models
    ALTER COLUMN licence SET DEFAULT 'LicenseRef-All-Rights-Reserved',
    ADD COLUMN licence_terms text NOT NULL DEFAULT '',
    ADD COLUMN commercial_use boolean NOT NULL DEFAULT false;
