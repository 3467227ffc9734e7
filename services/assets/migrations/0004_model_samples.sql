-- Which style models may show their sample grids to others (kept in step with the trainer's events).
-- A sample grid is an asset of kind 'sample' whose meta names its model and version (the trainer
-- stores it so); it is shown to others while its model is public and its version not withdrawn.

-- One row per model seen on the TRAINER stream. `stream_seq` is that of the trainer.model.updated
-- event applied last (0: only a trainer.model.trained event was seen, which any update overrides).
CREATE TABLE model_visibility (
    model_id text PRIMARY KEY,
    owner_id text NOT NULL,
    visibility text NOT NULL CHECK (visibility IN ('public', 'private')),
    stream_seq bigint NOT NULL
);

-- Versions whose training consent was withdrawn: their samples are never shown to others again.
CREATE TABLE withdrawn_model_versions (
    model_id text NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (model_id, version)
);
