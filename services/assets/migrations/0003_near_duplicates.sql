-- Perceptual hashes of uploads and the near duplicates found among other artists' shown works.

-- pHash and dHash, 64 bits each as signed bigints (services/assets/perceptual.py); NULL for assets
-- that are not uploads, for nearly flat images, and for uploads stored before this migration.
ALTER TABLE assets ADD COLUMN phash bigint, ADD COLUMN dhash bigint;

-- The candidate index: the pHash cut into four 16-bit chunks, keyed position * 65536 + value
-- (a lookup probes each chunk and its one-bit neighbours, services/assets/perceptual.py).
CREATE TABLE asset_hash_chunks (
    key integer NOT NULL,
    asset_id text NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (key, asset_id)
);
CREATE INDEX asset_hash_chunks_asset_idx ON asset_hash_chunks (asset_id);

-- One row per (upload, original): the upload nearly matches an asset another artist shows in a
-- public or unlisted work. Gone with either asset.
CREATE TABLE near_duplicates (
    id text PRIMARY KEY,  -- a ULID: the listing's order and cursor
    asset_id text NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    uploader_id text NOT NULL,
    original_asset_id text NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    original_work_id text NOT NULL,
    original_author_id text NOT NULL,
    distance smallint NOT NULL CHECK (distance BETWEEN 0 AND 64),
    dhash_distance smallint NOT NULL CHECK (dhash_distance BETWEEN 0 AND 64),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT near_duplicates_pair_key UNIQUE (asset_id, original_asset_id)
);
CREATE INDEX near_duplicates_author_idx ON near_duplicates (original_author_id, id);
CREATE INDEX near_duplicates_original_idx ON near_duplicates (original_asset_id);
