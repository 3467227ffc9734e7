"""Generator runtimes behind one interface: Triton (default) and in-process ONNX Runtime."""

from services.inference.backends.base import (
    BackendError,
    BackendUnavailable,
    GeneratorBackend,
    InvalidModel,
    ModelNotLoaded,
)

__all__ = ["BackendError", "BackendUnavailable", "GeneratorBackend", "InvalidModel", "ModelNotLoaded"]
