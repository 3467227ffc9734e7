-- A refine's dataset remembers which of its extra images others liked (the liked set its metrics
-- compare the model with before and after); `extra_asset_ids` repeats an image by its weight.
ALTER TABLE jobs ADD COLUMN liked_asset_ids text[];
