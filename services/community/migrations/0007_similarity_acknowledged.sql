-- A human work whose asset nearly matches another artist's work (assets' perceptual hash) is
-- published only when its author acknowledges it; the acknowledgement is kept on the work.
ALTER TABLE works ADD COLUMN similarity_acknowledged boolean NOT NULL DEFAULT false;
