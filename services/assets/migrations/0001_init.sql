-- The assets schema. Later migrations add the service's tables.
COMMENT ON SCHEMA assets IS 'Owned by the assets service: files in the object store: uploads, thumbnails, generated images';
