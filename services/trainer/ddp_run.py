"""One DistributedDataParallel training run under an initialised process group (torchrun).

Same models, step function and checkpoint format as training.py; each rank draws its own data and
noise, gradients are averaged (gloo on CPU, NCCL on GPU), so every rank ends with the same weights.
`batch_size` is the global batch, split across ranks. Rank 0 writes generator.pt (the exportable
generator, models.load_generator format), checkpoint.pt and metrics.json; every rank writes
rank-<r>.json with a hash of its final weights so a caller can check they agree. Used by both entry
points: `ddp.py` (images from a folder) and `ddp_job.py` (a queued job of the platform).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from services.trainer.dataset import ImageDataset
from services.trainer.evaluation import evaluate
from services.trainer.models import generator_state_bytes
from services.trainer.training import TrainConfig, TrainingSession


def _weights_digest(session: TrainingSession, kind: str) -> str:
    digest = hashlib.sha256()
    for module in session.bundle.trained_modules().values():
        named = module.named_parameters() if kind == "parameters" else module.named_buffers()
        for name, tensor in named:
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _sync_buffers(session: TrainingSession) -> None:
    """BatchNorm running stats: DDP copies rank 0's before each forward, but every rank then
    updates its own from its local batch; adopt rank 0's after the last step."""
    for module in session.bundle.trained_modules().values():
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def run(config: TrainConfig, images: Sequence[bytes], out_dir: Path, progress_every: int = 10) -> dict[str, Any]:
    """Train under an initialised process group; returns this rank's summary."""
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    cuda = config.device != "cpu" and torch.cuda.is_available()
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    else:
        # Ranks on one machine share its cores; oversubscribing them slows every rank down.
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // local_world))
    per_rank = config.model_copy(update={"batch_size": max(1, config.batch_size // world)})

    def wrap(module: torch.nn.Module) -> torch.nn.Module:
        return DistributedDataParallel(module, device_ids=[local_rank] if cuda else None)

    session = TrainingSession(per_rank, ImageDataset(images, config.image_size, config.augment), device,
                              wrap=wrap, rank=rank)
    started = time.perf_counter()
    while session.step < config.steps:
        losses = session.train_step()
        if rank == 0 and (session.step % progress_every == 0 or session.step == config.steps):
            shown = " ".join(f"{k}={v.item():.4f}" for k, v in losses.items())
            print(f"step {session.step}/{config.steps} {shown}", flush=True)
    elapsed = time.perf_counter() - started
    # Parameters already agree (averaged gradients); compared before the buffer sync to prove it.
    params_digest = _weights_digest(session, "parameters")
    _sync_buffers(session)
    summary = {"rank": rank, "world_size": world, "steps_done": session.step, "seconds": elapsed,
               "parameters_sha256": params_digest, "buffers_sha256": _weights_digest(session, "buffers")}
    (out_dir / f"rank-{rank}.json").write_text(json.dumps(summary))
    digests: list[tuple[str, str] | None] = [None] * world
    dist.all_gather_object(digests, (summary["parameters_sha256"], summary["buffers_sha256"]))
    if rank == 0:
        metrics = evaluate(session)
        metrics.update(world_size=world, steps=session.step, global_batch_size=per_rank.batch_size * world,
                       samples_per_s=session.step * per_rank.batch_size * world / elapsed,
                       ranks_agree=len(set(digests)) == 1, dataset_sha256=session.dataset.sha256)
        (out_dir / "generator.pt").write_bytes(generator_state_bytes(session.bundle))
        (out_dir / "checkpoint.pt").write_bytes(session.checkpoint_bytes())
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    dist.barrier()
    return summary
