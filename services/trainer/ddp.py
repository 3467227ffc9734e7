"""Multi-process training with DistributedDataParallel, launched by torchrun.

    torchrun --standalone --nproc_per_node=2 -m services.trainer.ddp \\
        --architecture dcgan --image-size 32 --steps 20 --data-dir DIR --out DIR
    torchrun ... -m services.trainer.ddp --model-id ID   # a queued job of the platform (ddp_job.py)

The run itself is `ddp_run.run` (same models, step function and checkpoint format as training.py;
`--batch-size` is the global batch, split across ranks). Rank 0 writes generator.pt, checkpoint.pt
and metrics.json to `--out`; every rank writes rank-<r>.json with a hash of its final weights.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from services.trainer import ddp_job
from services.trainer.ddp_run import run
from services.trainer.training import TrainConfig

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def read_images(data_dir: Path) -> list[bytes]:
    files = sorted(p for p in data_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"no images in {data_dir}")
    return [p.read_bytes() for p in files]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-id", help="train this style model's queued job: configuration and dataset come "
                        "from the trainer's database and the assets service, the version is published as the "
                        "queue worker does (services.trainer.ddp_job); the other options are then ignored")
    parser.add_argument("--architecture", choices=["dcgan", "collage", "vae"])
    parser.add_argument("--image-size", type=int, choices=[32, 64, 128], default=32)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int, default=32, help="global batch, split across ranks")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--augment", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.model_id:
        ddp_job.main(args.model_id)
        return
    missing = [f"--{n.replace('_', '-')}" for n in ("architecture", "steps", "data_dir", "out") if not getattr(args, n)]
    if missing:
        parser.error(f"without --model-id these are required: {', '.join(missing)}")
    config = TrainConfig(
        architecture=args.architecture, image_size=args.image_size, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        augment={"auto": None, "on": True, "off": False}[args.augment], device=args.device,
        **({"width": args.width} if args.width else {}),
    )
    images = read_images(args.data_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    cuda = config.device != "cpu" and torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(minutes=10))
    try:
        run(config, images, args.out)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
