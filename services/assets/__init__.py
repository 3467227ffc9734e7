"""The assets service: files in the object store: uploads, thumbnails, generated images."""
