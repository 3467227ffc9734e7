-- Models this service can serve, learnt from trainer events (it never asks the trainer).
CREATE TABLE models (
    model_id text PRIMARY KEY,
    owner_id text NOT NULL,
    -- 'private': the owner only; 'public': anyone may generate from it.
    visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
    model_id text NOT NULL REFERENCES models (model_id),
    version integer NOT NULL CHECK (version >= 0),
    architecture text NOT NULL,
    image_size integer NOT NULL CHECK (image_size > 0),
    repository_path text NOT NULL,
    metrics jsonb NOT NULL DEFAULT '{}',
    -- 'training': queued or running at the trainer; 'ready': servable; 'failed': cannot be served.
    status text NOT NULL CHECK (status IN ('training', 'ready', 'failed')),
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, version)
);

CREATE TABLE generations (
    id text PRIMARY KEY,
    owner_id text NOT NULL,
    model_id text NOT NULL,
    version integer NOT NULL,
    mode text NOT NULL,
    count integer NOT NULL CHECK (count BETWEEN 1 AND 16),
    seed bigint NOT NULL CHECK (seed >= 0),
    params jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    error text,
    -- The 8 hex digits embedded as an invisible watermark (128 px and larger), to find a stripped image.
    watermark_id text,
    idempotency_key text,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX generations_owner_idx ON generations (owner_id, id DESC);
CREATE INDEX generations_watermark_idx ON generations (watermark_id) WHERE watermark_id IS NOT NULL;
CREATE UNIQUE INDEX generations_idempotency_idx ON generations (owner_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE generation_outputs (
    generation_id text NOT NULL REFERENCES generations (id),
    index integer NOT NULL CHECK (index >= 0),
    asset_id text NOT NULL,
    seed bigint NOT NULL,
    -- sha256 of the PNG before signing (reproducible) and of the stored, signed file.
    image_sha256 text NOT NULL,
    signed_sha256 text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    score smallint CHECK (score BETWEEN 1 AND 5),
    rated_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (generation_id, index)
);
CREATE INDEX generation_outputs_signed_idx ON generation_outputs (signed_sha256);
CREATE INDEX generation_outputs_rated_idx ON generation_outputs (score DESC, rated_at DESC) WHERE score IS NOT NULL;
