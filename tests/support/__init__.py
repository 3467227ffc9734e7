"""Helpers several test modules share (no fixtures: those live in conftest.py files)."""
