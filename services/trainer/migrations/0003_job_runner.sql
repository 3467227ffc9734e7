-- Who trains a job: the queue worker (`worker`), or a multi-node DDP run started for the model
-- (`ddp`, `torchrun -m services.trainer.ddp --model-id`), in which case the worker skips it.
ALTER TABLE jobs ADD COLUMN runner text NOT NULL DEFAULT 'worker' CHECK (runner IN ('worker', 'ddp'));
