"""The training process, and the asyncio side's handle on it.

The worker starts `python -m services.trainer.runner` as a child process (training is CPU work
that must never run on the service's event loop) and talks to it through its pipes, in frames of
a 4-byte length and a pickle:

- stdin, parent → child: one frame with the job (config, image bytes, checkpoint to resume or to
  fine-tune from, reporting intervals), then text lines: `stop` asks the child to end after the
  current step with a checkpoint. End of input (the parent died) also stops it.
- stdout, child → parent: frames `(kind, data)`: `resumed`, `progress`, `sample`, `checkpoint`,
  then exactly one of `result` or `error`. The child's own prints go to stderr (the service log).

The asyncio side never imports torch: it only moves bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")
MAX_FRAME = 2**31


def encode_frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=5)
    return _HEADER.pack(len(body)) + body


def _read_frame_sync(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("no job frame")
    (size,) = _HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError("truncated job frame")
    return pickle.loads(body)


# -- asyncio side ---------------------------------------------------------------------------------


class TrainingProcess:
    """One training child process; `messages()` yields what it reports until it exits."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.stop_requested = False

    @classmethod
    async def start(cls, job: dict[str, Any], *, env: dict[str, str] | None = None) -> TrainingProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.trainer.runner",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None,
            env={**os.environ, **(env or {})},
        )
        assert proc.stdin is not None
        proc.stdin.write(encode_frame(job))
        await proc.stdin.drain()
        return cls(proc)

    async def messages(self) -> AsyncIterator[tuple[str, Any]]:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            try:
                header = await stdout.readexactly(_HEADER.size)
                (size,) = _HEADER.unpack(header)
                body = await stdout.readexactly(size)
            except asyncio.IncompleteReadError:
                return  # the child exited (or was killed) without finishing its report
            kind, data = pickle.loads(body)
            yield kind, data

    async def stop(self) -> None:
        """Ask the child to checkpoint and end after its current step."""
        self.stop_requested = True
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.proc.stdin.write(b"stop\n")
                await self.proc.stdin.drain()

    async def wait(self, timeout_s: float) -> int | None:
        """The exit code, killing the child if it has not exited within `timeout_s`."""
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            return await self.proc.wait()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()


# -- child process --------------------------------------------------------------------------------


class _Reporter:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def send(self, kind: str, data: Any) -> None:
        with self._lock:
            self._out.write(encode_frame((kind, data)))
            self._out.flush()


def _watch_stdin(stdin: BinaryIO, stop: threading.Event) -> None:
    for line in stdin:
        if line.strip() == b"stop":
            stop.set()
    stop.set()  # the parent is gone: nobody would receive the result


def run_job(job: dict[str, Any], report: _Reporter, stop: threading.Event) -> None:
    # torch is imported here, in the child only.
    from services.trainer.dataset import DatasetError, dataset_sha256
    from services.trainer.export import ExportError, export_onnx, triton_config, verify_onnx
    from services.trainer.models import load_generator
    from services.trainer.training import Checkpoint, TrainConfig, train

    try:
        config = TrainConfig(**job["config"])
        images: list[bytes] = job["images"]
        resume = job.get("resume")
        if resume is not None:
            ckpt = Checkpoint.from_bytes(resume)
            usable = (ckpt.architecture == config.architecture and ckpt.image_size == config.image_size
                      and ckpt.state.get("width") == config.width and ckpt.same_recipe(config)
                      and ckpt.dataset_sha256 == dataset_sha256(images)
                      and ckpt.step < config.steps)
            if usable:
                report.send("resumed", {"step": ckpt.step})
                resume = ckpt
            else:
                report.send("resume_skipped", {"step": ckpt.step})
                resume = None
        # Checkpoints fall on progress steps (the worker picks multiples), so the last reported
        # step is the checkpoint's step.
        last_step = [resume.step if resume is not None else 0]

        def on_progress(p: Any) -> None:
            last_step[0] = p.step
            report.send("progress", {"step": p.step, "total_steps": p.total_steps, "losses": p.losses,
                                     "eta_s": p.eta_s, "samples_per_s": p.samples_per_s})

        result = train(
            config, images, resume=resume, init_from=job.get("init_from"),
            weights=job.get("weights"), liked=job.get("liked"),
            on_progress=on_progress, should_stop=stop.is_set,
            on_checkpoint=lambda data: report.send("checkpoint", {"data": data, "step": last_step[0]}),
            checkpoint_every=job["checkpoint_every"], progress_every=job["progress_every"],
            sample_every=job["sample_every"], on_sample=lambda png: report.send("sample", {"png": png}),
        )
        data: dict[str, Any] = {"status": result.status, "steps_done": result.steps_done,
                                "dataset_sha256": result.dataset_sha256, "checkpoint": result.checkpoint,
                                "metrics": result.metrics, "sample_png": result.sample_png}
        if result.status == "succeeded":
            generator = load_generator(result.generator_state)
            onnx_bytes = export_onnx(generator)  # verified against torch; ExportError otherwise
            data["onnx"] = onnx_bytes
            data["config_pbtxt"] = triton_config(job["model_name"], config.image_size, job["triton_backend"])
            data["metrics"] = {**result.metrics,
                               "onnx_max_abs_diff": verify_onnx(generator, onnx_bytes, seed=config.seed + 1)}
            data["directions"], data["originality"] = result.directions, result.originality
        report.send("result", data)
    except (DatasetError, ExportError, ValueError) as exc:
        report.send("error", {"message": f"{type(exc).__name__}: {exc}", "permanent": True})
    except Exception as exc:
        report.send("error", {"message": f"{type(exc).__name__}: {exc}", "permanent": False})


def main() -> None:
    # stdout carries frames only: keep the real pipe aside, point fd 1 (and print) at stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # SIGINT/SIGTERM from a terminal's process group: stop cleanly like a `stop` line would.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stdin = sys.stdin.buffer
    job = _read_frame_sync(stdin)
    threading.Thread(target=_watch_stdin, args=(stdin, stop), daemon=True).start()
    run_job(job, _Reporter(out), stop)
    out.close()


if __name__ == "__main__":
    main()
