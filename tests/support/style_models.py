"""Tiny style models for tests, benchmarks and demos: export a generator to ONNX, put it where the
trainer puts its exports, and announce it with the trainer's event.

Imported only by tests and bench (it needs torch); the service never imports it. The layout and
tensor names are the export contract of `shared.contracts.triton`.
"""

from __future__ import annotations

import io

import torch
from minio import Minio
from nats.js import JetStreamContext
from torch import nn

from shared.contracts.events.catalog import ModelQueued, ModelTrained
from shared.contracts.events.envelope import make_event
from shared.contracts.triton import INPUT_NAME, OUTPUT_NAME, onnx_key, repository_path
from shared.messaging.publisher import publish_event


class TinyGenerator(nn.Module):
    """DCGAN-shaped: z [N,128] → 4x4 → upsampling deconvolutions → [N,3,size,size] in [-1, 1]."""

    def __init__(self, image_size: int = 32, width: int = 32) -> None:
        super().__init__()
        blocks = {32: 3, 64: 4, 128: 5}[image_size]
        self.width = width
        self.project = nn.Linear(128, width * 4 * 4)
        layers: list[nn.Module] = []
        channels = width
        for _ in range(blocks - 1):
            layers += [nn.BatchNorm2d(channels), nn.ReLU(), nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1)]
            channels //= 2
        layers += [nn.ReLU(), nn.ConvTranspose2d(channels, 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, self.width, 4, 4))


def export_onnx(model: nn.Module) -> bytes:
    """The export contract: input `z` [N,128] float32, output `image` [N,3,H,W], dynamic batch."""
    buf = io.BytesIO()
    torch.onnx.export(model.eval(), (torch.zeros(1, 128),), buf, input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "n"}, OUTPUT_NAME: {0: "n"}},
                      opset_version=17, dynamo=False)
    return buf.getvalue()


def tiny_generator_onnx(seed: int, image_size: int = 32, width: int = 32) -> bytes:
    torch.manual_seed(seed)
    return export_onnx(TinyGenerator(image_size, width))


def upload_model(client: Minio, bucket: str, model_id: str, version: int, onnx: bytes) -> str:
    """Write `models/<id>/<version>/model.onnx` like the trainer's export; returns the prefix."""
    prefix = repository_path(model_id, version)
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    client.put_object(bucket, onnx_key(prefix), io.BytesIO(onnx), len(onnx),
                      content_type="application/octet-stream")
    return prefix


async def announce_queued(js: JetStreamContext, model_id: str, owner_id: str, version: int,
                          image_size: int = 32) -> None:
    payload = ModelQueued(model_id=model_id, owner_id=owner_id, version=version, name="test model",
                          architecture="dcgan", image_size=image_size, total_steps=1)
    await publish_event(js, make_event(payload, service="trainer", subject_id=model_id), timeout=5.0)


async def announce_trained(js: JetStreamContext, model_id: str, owner_id: str, version: int, *,
                           image_size: int = 32, visibility: str | None = None) -> None:
    payload = ModelTrained(model_id=model_id, owner_id=owner_id, version=version, architecture="dcgan",
                           image_size=image_size, steps=1, metrics={"swd": 1.0},
                           repository_path=repository_path(model_id, version))
    event = make_event(payload, service="trainer", subject_id=model_id)
    if visibility is not None:  # a field the trainer may send; not (yet) in the catalog's payload
        event = event.model_copy(update={"data": {**event.data, "visibility": visibility}})
    await publish_event(js, event, timeout=5.0)
