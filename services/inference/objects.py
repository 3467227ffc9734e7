"""Reading exported models from the object store.

The trainer writes `models/<model_id>/<version>/model.onnx` (+ `config.pbtxt`) into the bucket.
That prefix is the platform's Triton model repository, the one exception to "a service never reads
another's bucket prefixes": it is a shared, read-only-for-us interface by design (production's
Triton reads the same prefix). Everything else in the bucket belongs to assets and trainer.

The `minio` client is synchronous: calls run in a small thread pool with socket timeouts and an
overall deadline.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import urllib3
from minio import Minio
from minio.error import S3Error

from services.inference.backends.base import ONNX_FILE
from shared.settings import S3Settings

MODELS_PREFIX = "models/"
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchBucket", "ResourceNotFound"}


class ModelFilesMissing(LookupError):
    """The repository path holds no model.onnx (yet)."""


def repository_path(model_id: str, version: int) -> str:
    return f"{MODELS_PREFIX}{model_id}/{version}/"


class ModelRepository:
    def __init__(self, settings: S3Settings) -> None:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5.0, read=settings.s3_timeout_s),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
            maxsize=4,
        )
        self._client = Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                             secret_key=settings.s3_secret_key.get_secret_value(), secure=settings.s3_secure,
                             region=settings.s3_region, http_client=http)
        self._bucket = settings.s3_bucket
        self._deadline_s = settings.s3_timeout_s * 2
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="s3-models")

    async def fetch(self, path: str) -> dict[str, bytes]:
        """The files a backend needs from `models/<id>/<version>/`: {"model.onnx": bytes}."""
        if not path.startswith(MODELS_PREFIX) or ".." in path:
            raise ModelFilesMissing(f"not a model repository path: {path!r}")
        key = path.rstrip("/") + "/" + ONNX_FILE
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.run_in_executor(self._pool, self._read, key), self._deadline_s)
        return {ONNX_FILE: data}

    async def exists(self, path: str) -> bool:
        """Whether `models/<id>/<version>/model.onnx` is there (without reading it)."""
        key = path.rstrip("/") + "/" + ONNX_FILE
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, self._stat, key), self._deadline_s)

    def _stat(self, key: str) -> bool:
        try:
            self._client.stat_object(self._bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return False
            raise
        return True

    def _read(self, key: str) -> bytes:
        try:
            response = self._client.get_object(self._bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise ModelFilesMissing(f"{key} does not exist") from None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def reachable(self) -> bool:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, self._client.bucket_exists, self._bucket),
                                      5.0)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
