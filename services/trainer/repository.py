"""The trainer's objects in the bucket: checkpoints and the Triton model repository.

- `checkpoints/<model_id>/<version>/latest.pt`: written during training; a redelivered job resumes
  from it. `final.pt` is the finished version's full state, the starting point of a refine.
- `models/<model_id>/<version>/model.onnx` and `models/<model_id>/config.pbtxt`: Triton's model
  repository layout (one Triton model per style model, one Triton version per model version);
  the inference service and production's Triton read this prefix.

The `minio` client is synchronous: calls run in a small thread pool with socket timeouts and an
overall deadline, never on the event loop.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3
from minio import Minio
from minio.error import S3Error

from shared.settings import S3Settings

MODELS_PREFIX = "models/"
CHECKPOINTS_PREFIX = "checkpoints/"
_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}


def checkpoint_key(model_id: str, version: int, name: str = "latest") -> str:
    return f"{CHECKPOINTS_PREFIX}{model_id}/{version}/{name}.pt"


def repository_path(model_id: str, version: int) -> str:
    """What `trainer.model.trained` carries: the version's folder, as inference expects it."""
    return f"{MODELS_PREFIX}{model_id}/{version}/"


class ObjectStore:
    def __init__(self, settings: S3Settings, workers: int = 4) -> None:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5.0, read=settings.s3_timeout_s),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
            maxsize=workers,
        )
        self._client = Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                             secret_key=settings.s3_secret_key.get_secret_value(), secure=settings.s3_secure,
                             region=settings.s3_region, http_client=http)
        self.bucket = settings.s3_bucket
        self._deadline_s = settings.s3_timeout_s * 3
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-trainer")

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, fn, *args), self._deadline_s)

    async def ensure_bucket(self) -> None:
        await self._run(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        if not self._client.bucket_exists(self.bucket):
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as exc:  # another service made it meanwhile
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await self._run(self._put, key, data, content_type)

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        data: bytes | None = await self._run(self._get, key)
        return data

    def _get(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        await self._run(self._client.remove_object, self.bucket, key)

    async def reachable(self) -> bool:
        return bool(await asyncio.wait_for(self._run(self._client.bucket_exists, self.bucket), 5.0))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
