"""The five Atelier services; each runs alone as `python -m services.<name>`."""
