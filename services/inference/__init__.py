"""The inference service: generations through Triton, provenance signing, ratings."""
