"""Code that two or more Atelier services need. Nothing here imports from `services/`."""
