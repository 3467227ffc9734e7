-- Style models, their training jobs (train and refine), versions and progress samples.

CREATE TABLE models (
    id text PRIMARY KEY,
    owner_id text NOT NULL,
    name text NOT NULL,
    architecture text NOT NULL CHECK (architecture IN ('dcgan', 'vae')),
    image_size integer NOT NULL,
    width integer NOT NULL,
    work_ids text[] NOT NULL,
    collection_id text,
    -- The dataset as accepted: the consented works' assets when the model was created.
    asset_ids text[] NOT NULL,
    idempotency_key text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_owner_idx ON models (owner_id, id DESC);
CREATE UNIQUE INDEX models_idempotency_idx ON models (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE jobs (
    id text PRIMARY KEY,
    model_id text NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    owner_id text NOT NULL,
    version integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('train', 'refine')),
    base_version integer,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    steps integer NOT NULL,
    batch_size integer NOT NULL,
    augment boolean,
    seed integer NOT NULL DEFAULT 0,
    min_score integer,
    -- Refine: the owner's top-rated generations, fixed on the first attempt so a resumed job
    -- trains on exactly the dataset its checkpoint was made on.
    extra_asset_ids text[],
    step integer NOT NULL DEFAULT 0,
    losses jsonb NOT NULL DEFAULT '{}',
    eta_s double precision,
    checkpoint_step integer,
    resumed_from_step integer,
    attempts integer NOT NULL DEFAULT 0,
    worker_pid integer,
    cancel_requested boolean NOT NULL DEFAULT false,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    UNIQUE (model_id, version)
);
CREATE INDEX jobs_model_idx ON jobs (model_id, version DESC);
CREATE INDEX jobs_active_owner_idx ON jobs (owner_id) WHERE status IN ('queued', 'running');

CREATE TABLE versions (
    model_id text NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version integer NOT NULL,
    job_id text NOT NULL REFERENCES jobs (id),
    steps integer NOT NULL,
    metrics jsonb NOT NULL,
    dataset_sha256 text NOT NULL,
    repository_path text NOT NULL,
    sample_asset_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, version)
);

CREATE TABLE samples (
    asset_id text NOT NULL,
    model_id text NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    job_id text NOT NULL REFERENCES jobs (id),
    step integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, asset_id)
);
CREATE INDEX samples_model_idx ON samples (model_id, created_at DESC);
