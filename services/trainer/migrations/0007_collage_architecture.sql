-- The "collage" architecture (services/trainer/collage.py): a GAN whose generator draws flat-colour shapes.
ALTER TABLE models DROP CONSTRAINT models_architecture_check;
ALTER TABLE models ADD CONSTRAINT models_architecture_check CHECK (architecture IN ('dcgan', 'collage', 'vae'));
