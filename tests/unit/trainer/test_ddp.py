import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from services.trainer.models import load_generator
from tests.unit.trainer.conftest import style_images

TORCHRUN = Path(sys.executable).parent / "torchrun"


@pytest.mark.slow
def test_two_cpu_ranks_train_to_identical_weights(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    for i, png in enumerate(style_images("stripes", 8)):
        (data / f"{i:02d}.png").write_bytes(png)
    proc = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "services.trainer.ddp",
         "--architecture", "dcgan", "--image-size", "32", "--steps", "20", "--width", "8",
         "--batch-size", "16", "--device", "cpu", "--data-dir", str(data), "--out", str(out)],
        capture_output=True, text=True, timeout=240, cwd=Path(__file__).parents[3],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["steps_done"] for r in ranks] == [20, 20]
    assert ranks[0]["parameters_sha256"] == ranks[1]["parameters_sha256"]
    assert ranks[0]["buffers_sha256"] == ranks[1]["buffers_sha256"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["ranks_agree"] is True and metrics["swd"] > 0
    generator = load_generator((out / "generator.pt").read_bytes())
    assert generator(torch.randn(2, 128)).shape == (2, 3, 32, 32)
