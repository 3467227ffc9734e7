-- Which works use an asset (asked by the assets service before it deletes one).
CREATE INDEX IF NOT EXISTS works_asset_ids_idx ON works USING gin (asset_ids);
