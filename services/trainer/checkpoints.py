"""Where the trainer keeps training state in the bucket: `checkpoints/<model_id>/<version>/<name>.pt`.

`latest.pt` is written during training (a redelivered job resumes from it); `final.pt` is the
finished version's full state, the starting point of a refine. The Triton model repository the
trainer exports to (`models/...`) is declared in `shared.contracts.triton`. The client is
`shared.objectstore.ObjectStore`.
"""

from __future__ import annotations

CHECKPOINTS_PREFIX = "checkpoints/"


def checkpoint_key(model_id: str, version: int, name: str = "latest") -> str:
    return f"{CHECKPOINTS_PREFIX}{model_id}/{version}/{name}.pt"
