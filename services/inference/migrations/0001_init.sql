-- The inference schema. Later migrations add the service's tables.
COMMENT ON SCHEMA inference IS 'Owned by the inference service: generations through Triton, provenance signing, ratings';
