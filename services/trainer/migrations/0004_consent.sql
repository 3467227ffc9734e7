-- Consent that binds after training: a training record per version, withdrawals, shared models.

ALTER TABLE models
    ADD COLUMN visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
    ADD COLUMN training_mining text NOT NULL DEFAULT 'notAllowed'
        CHECK (training_mining IN ('notAllowed', 'allowed', 'constrained')),
    ADD COLUMN licence text NOT NULL DEFAULT 'all-rights-reserved';
CREATE INDEX models_public_idx ON models (id DESC) WHERE visibility = 'public';

-- The works a model was created on, with their authors, as community answered at creation.
CREATE TABLE model_works (
    model_id text NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    work_id text NOT NULL,
    author_id text NOT NULL,
    asset_ids text[] NOT NULL,
    PRIMARY KEY (model_id, work_id)
);

-- The training record of each version: which works, of which artists, in what share of the images.
CREATE TABLE version_works (
    model_id text NOT NULL,
    version integer NOT NULL,
    work_id text NOT NULL,
    author_id text NOT NULL,
    images integer NOT NULL,
    share double precision NOT NULL,
    PRIMARY KEY (model_id, version, work_id),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE
);
CREATE INDEX version_works_work_idx ON version_works (work_id);
CREATE INDEX version_works_author_idx ON version_works (author_id, work_id DESC);

ALTER TABLE versions
    ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'consent_withdrawn')),
    ADD COLUMN withdrawn_work_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN withdrawn_at timestamptz;

-- Works whose training consent ended (switched off, work deleted, account deleted).
CREATE TABLE withdrawals (
    work_id text PRIMARY KEY,
    author_id text NOT NULL,
    reason text NOT NULL
        CHECK (reason IN ('consent_withdrawn', 'account_consent_withdrawn', 'work_deleted', 'account_deleted')),
    withdrawn_at timestamptz NOT NULL DEFAULT now()
);

-- Generations made from each version (from inference.generation.completed, once per generation).
CREATE TABLE generations (
    generation_id text PRIMARY KEY,
    model_id text NOT NULL,
    version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX generations_model_idx ON generations (model_id, version);
