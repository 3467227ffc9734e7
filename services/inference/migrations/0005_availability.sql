-- Versions whose training consent was withdrawn are never served again ('withdrawn', a 410);
-- what a model's images say about AI training (CAWG) and each version's dataset hash, for the manifest.
ALTER TABLE model_versions DROP CONSTRAINT model_versions_status_check;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_status_check
    CHECK (status IN ('training', 'ready', 'failed', 'withdrawn'));
ALTER TABLE model_versions ADD COLUMN dataset_sha256 text;
ALTER TABLE models ADD COLUMN training_mining text NOT NULL DEFAULT 'notAllowed'
    CHECK (training_mining IN ('notAllowed', 'allowed', 'constrained'));
