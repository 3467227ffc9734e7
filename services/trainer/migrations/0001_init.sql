-- The trainer schema. Later migrations add the service's tables.
COMMENT ON SCHEMA trainer IS 'Owned by the trainer service: style models: training jobs, checkpoints, versions, export';
