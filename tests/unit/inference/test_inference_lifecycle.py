"""A generation's lifecycle and the GPU settings, without I/O: what the contracts say, who receives
the progress and cancel events, Retry-After across the RPC boundary, the KIND_GPU config."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.gateway.live.visibility import channel_for, describe
from services.inference.app import build_backend
from services.inference.backends.triton import TritonBackend, model_config
from services.inference.generations import generation_view
from services.inference.settings import InferenceSettings
from services.inference.store import GenerationRow
from shared.contracts import inference as c
from shared.contracts.events import make_event
from shared.contracts.events.catalog import GenerationCanceled, GenerationProgress
from shared.errors import TooManyRequests, error_from_problem

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ME, OTHER = "01J9ZC7A0000000000000000ME", "01J9ZC7A00000000000000OTHR"


def _row(status: str) -> GenerationRow:
    return GenerationRow(id="01J9ZC7A0000000000000GENER", owner_id=ME, model_id="m1", version=1, mode="sample",
                         count=4, seed=7, params={}, status=status, error=None, watermark_id=None,
                         idempotency_key=None, attempts=0, created_at=NOW, started_at=None,
                         finished_at=NOW if status == "canceled" else None)


def test_a_queued_generation_carries_its_position_and_eta_and_a_canceled_one_its_status() -> None:
    queued = c.Generation.model_validate({**generation_view(_row("queued"), []), "queue_position": 3, "eta_s": 1.5})
    assert (queued.status, queued.queue_position, queued.eta_s) == ("queued", 3, 1.5)
    canceled = c.Generation.model_validate(generation_view(_row("canceled"), []))
    assert canceled.status == "canceled" and canceled.queue_position is None and canceled.eta_s is None
    with pytest.raises(ValidationError):
        c.Generation.model_validate({**generation_view(_row("queued"), []), "status": "paused"})


def _raw(payload: Any) -> bytes:
    return make_event(payload, service="inference", subject_id="g").to_json()


@pytest.mark.parametrize("payload", [
    GenerationProgress(generation_id="g", owner_id=ME, model_id="m", version=1, index=2, asset_id="a", seed=9,
                       count=4),
    GenerationCanceled(generation_id="g", owner_id=ME, model_id="m", version=1, outputs_made=1),
])
def test_progress_and_cancel_events_reach_their_owner_only(payload: Any) -> None:
    info = describe("INFERENCE", 1, _raw(payload))
    assert info.subject == payload.subject
    assert channel_for(info, ME, frozenset({"me", "feed", "public"}), set()) == "me"
    assert channel_for(info, OTHER, frozenset({"me", "feed", "public"}), {ME}) is None


def test_a_progress_event_names_its_output() -> None:
    event = GenerationProgress(generation_id="g", owner_id=ME, model_id="m", version=1, index=0, asset_id="a1",
                               seed=1, count=2)
    assert event.model_dump()["asset_id"] == "a1" and event.index == 0
    with pytest.raises(ValidationError):
        GenerationProgress(generation_id="g", owner_id=ME, model_id="m", version=1, index=-1, asset_id="a",
                           seed=1, count=2)


def test_a_429_keeps_its_retry_after_across_the_rpc_boundary() -> None:
    sent = TooManyRequests("too many", headers={"Retry-After": "7"}, extra={"limit": 8, "retry_after_s": 7})
    received = error_from_problem(sent.to_problem())
    assert isinstance(received, TooManyRequests)
    assert received.headers == {"Retry-After": "7"} and received.extra["limit"] == 8
    assert error_from_problem({"status": 429, "detail": "x"}).headers == {}


def test_the_generate_operation_declares_its_429() -> None:
    assert 429 in c.GENERATIONS_CREATE.problems
    assert set(c.GENERATIONS_CANCEL.problems) == {404, 409}


# -- GPU settings --------------------------------------------------------------------------------


async def test_gpu_settings_render_a_kind_gpu_config() -> None:
    settings = InferenceSettings(triton_url="127.0.0.1:1", triton_model_backend="onnxruntime",
                                 triton_instance_kind="KIND_GPU", triton_execution_provider="tensorrt",
                                 triton_instances=2)
    backend = build_backend(settings)
    try:
        assert isinstance(backend, TritonBackend)
        config = model_config("m", [1], (3, 64, 64), backend="onnxruntime", **backend._config_options)
    finally:
        await backend.close()
    assert config["instance_group"] == [{"kind": "KIND_GPU", "count": 2}]
    accelerators = config["optimization"]["execution_accelerators"]["gpu_execution_accelerator"]
    assert accelerators[0]["name"] == "tensorrt"


def test_cpu_settings_render_a_kind_cpu_config_without_accelerators() -> None:
    config = model_config("m", [1], (3, 64, 64), backend="onnxruntime")
    assert config["instance_group"] == [{"kind": "KIND_CPU", "count": 1}]
    assert "optimization" not in config
    python = model_config("m", [1], (3, 64, 64), backend="python", instance_kind="KIND_GPU",
                          execution_provider="cuda")
    assert python["instance_group"][0]["kind"] == "KIND_GPU"
    assert python["parameters"]["execution_provider"] == {"string_value": "cuda"}


def test_contradictory_device_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="KIND_GPU"):
        InferenceSettings(triton_instance_kind="KIND_GPU", triton_execution_provider="cpu")
    with pytest.raises(ValidationError, match="KIND_GPU"):
        InferenceSettings(triton_instance_kind="KIND_CPU", triton_execution_provider="cuda",
                          triton_model_backend="onnxruntime")


@pytest.fixture
def python_model(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Triton Python-backend model file, imported with a stand-in for Triton's stub module."""
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", types.ModuleType("triton_python_backend_utils"))
    import importlib

    module = importlib.import_module("services.inference.triton_python_model.model")
    return importlib.reload(module)


def test_the_python_backend_uses_cuda_when_onnxruntime_gpu_and_a_gpu_are_there(
        python_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_build = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(python_model, "_gpu_present", lambda: True)
    assert python_model.providers("auto", gpu_build, 1) == [("CUDAExecutionProvider", {"device_id": 1}),
                                                            "CPUExecutionProvider"]
    assert python_model.providers("tensorrt", gpu_build, 0)[0][0] == "TensorrtExecutionProvider"
    assert python_model.providers("cpu", gpu_build, 0) == ["CPUExecutionProvider"]
    assert python_model.providers("cuda", ["CPUExecutionProvider"], 0) == ["CPUExecutionProvider"]  # CPU build
    monkeypatch.setattr(python_model, "_gpu_present", lambda: False)
    assert python_model.providers("auto", gpu_build, 0) == ["CPUExecutionProvider"]  # GPU build, no GPU


# -- queue position and ETA ----------------------------------------------------------------------


async def test_the_eta_counts_the_images_ahead_shared_among_the_workers_and_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from services.inference import generations, store

    async def ahead(_pool: Any, _gid: str) -> store.QueueAhead:
        return store.QueueAhead(generations=5, images=40)

    async def per_image(_pool: Any) -> float:
        return 0.5

    monkeypatch.setattr(store, "queue_ahead", ahead)
    monkeypatch.setattr(store, "seconds_per_image", per_image)
    service = generations.InferenceService(InferenceSettings(inference_workers=4), None, None, None, None, None)  # type: ignore[arg-type]
    view = await service._queue_view(_row("queued"), made=0)
    assert view == {"queue_position": 6, "eta_s": 0.5 * (40 / 4 + 4)}

    async def unmeasured(_pool: Any) -> None:
        return None

    monkeypatch.setattr(store, "seconds_per_image", unmeasured)
    assert await service._queue_view(_row("queued"), made=0) == {"queue_position": 6}  # no ETA before any timing
