"""Embedded local stack for `make run` and the tests (see stack.py)."""
