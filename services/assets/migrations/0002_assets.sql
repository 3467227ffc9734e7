-- Stored files, and which works use them (kept in step with community's work events).

CREATE TABLE assets (
    id text PRIMARY KEY,
    owner_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('upload', 'generated', 'sample')),
    sha256 text NOT NULL,
    content_type text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    size bigint NOT NULL,
    -- EXIF orientation (1..8) of the stored pixels; thumbnails are already upright.
    orientation smallint NOT NULL DEFAULT 1,
    palette text[] NOT NULL,
    object_key text NOT NULL,
    thumbnail_key text NOT NULL,
    meta jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Dedupe: the same bytes from the same owner are one asset.
    CONSTRAINT assets_owner_sha256_key UNIQUE (owner_id, sha256)
);

-- One row per (work, asset) while the work exists, whatever its visibility.
CREATE TABLE work_assets (
    work_id text NOT NULL,
    asset_id text NOT NULL,
    visibility text NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private')),
    PRIMARY KEY (work_id, asset_id)
);
CREATE INDEX work_assets_asset_idx ON work_assets (asset_id);

-- The last applied event per work (stream sequence), so a redelivered or older event is ignored.
CREATE TABLE work_versions (
    work_id text PRIMARY KEY,
    stream_seq bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false
);
