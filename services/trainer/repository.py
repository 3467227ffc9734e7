"""The trainer's objects in the bucket: checkpoints and the Triton model repository.

- `checkpoints/<model_id>/<version>/latest.pt`: written during training; a redelivered job resumes
  from it. `final.pt` is the finished version's full state, the starting point of a refine.
- `models/<model_id>/<version>/model.onnx` and `models/<model_id>/config.pbtxt`: Triton's model
  repository layout (one Triton model per style model, one Triton version per model version);
  the inference service and production's Triton read this prefix.

The client is `shared.objectstore.ObjectStore`.
"""

from __future__ import annotations

MODELS_PREFIX = "models/"
CHECKPOINTS_PREFIX = "checkpoints/"


def checkpoint_key(model_id: str, version: int, name: str = "latest") -> str:
    return f"{CHECKPOINTS_PREFIX}{model_id}/{version}/{name}.pt"


def repository_path(model_id: str, version: int) -> str:
    """What `trainer.model.trained` carries: the version's folder, as inference expects it."""
    return f"{MODELS_PREFIX}{model_id}/{version}/"
