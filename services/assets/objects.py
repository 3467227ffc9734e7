"""The assets bucket: object keys, presigned URLs, and the few operations the service needs.

The `minio` client is synchronous: every call runs in a small thread pool, bounded by the
client's socket timeouts and by an overall `asyncio.wait_for`. Presigning is local computation
(the region is configured, so no location lookup goes over the network).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from services.assets.settings import AssetsSettings

T = TypeVar("T")
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchBucket", "ResourceNotFound"}


def original_key(owner_id: str, asset_id: str) -> str:
    return f"originals/{owner_id}/{asset_id}"


def thumbnail_key(owner_id: str, asset_id: str) -> str:
    return f"thumbnails/{owner_id}/{asset_id}.webp"


def staging_key(owner_id: str, asset_id: str) -> str:
    """Where a not yet validated upload lands; the owner is part of the key, so `complete` needs
    no database row to know whose upload it is."""
    return f"staging/{owner_id}/{asset_id}"


def _client(endpoint: str, settings: AssetsSettings) -> Minio:
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=settings.s3_timeout_s),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
        maxsize=8,
    )
    return Minio(endpoint, access_key=settings.s3_access_key, secret_key=settings.s3_secret_key.get_secret_value(),
                 secure=settings.s3_secure, region=settings.s3_region, http_client=http)


class ObjectStore:
    def __init__(self, settings: AssetsSettings) -> None:
        self.bucket = settings.s3_bucket
        self._timeout_s = settings.s3_timeout_s * 2
        self._client = _client(settings.s3_endpoint, settings)
        self._public = _client(settings.s3_public_endpoint, settings) if settings.s3_public_endpoint else self._client
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="s3")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs)), self._timeout_s)

    # -- presigned URLs (no network) -------------------------------------------------------------

    def presign_put(self, key: str, expiry_s: int, *, public: bool) -> tuple[str, datetime]:
        client = self._public if public else self._client
        url = client.presigned_put_object(self.bucket, key, expires=timedelta(seconds=expiry_s))
        return url, datetime.now(UTC) + timedelta(seconds=expiry_s)

    def presign_get(self, key: str, expiry_s: int, *, public: bool = False) -> str:
        client = self._public if public else self._client
        return client.presigned_get_object(self.bucket, key, expires=timedelta(seconds=expiry_s))

    # -- object operations -----------------------------------------------------------------------

    async def bucket_exists(self) -> bool:
        return bool(await self._run(self._client.bucket_exists, self.bucket))

    async def size(self, key: str) -> int | None:
        """The object's size, or None when it does not exist."""
        try:
            stat = await self._run(self._client.stat_object, self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise
        return int(stat.size or 0)

    async def read(self, key: str) -> bytes:
        def fetch() -> bytes:
            response = self._client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await self._run(fetch)

    async def write(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(self._client.put_object, self.bucket, key, io.BytesIO(data), len(data),
                        content_type=content_type)

    async def copy(self, source: str, target: str) -> None:
        await self._run(self._client.copy_object, self.bucket, target, CopySource(self.bucket, source))

    async def delete(self, *keys: str) -> None:
        """Delete each key (one by one: the local store leaves folders behind on bulk delete)."""
        for key in keys:
            await self._run(self._client.remove_object, self.bucket, key)

    async def delete_older_than(self, prefix: str, max_age_s: float) -> int:
        """Delete objects under `prefix` last modified more than `max_age_s` ago; returns the count."""
        cutoff = datetime.now(UTC) - timedelta(seconds=max_age_s)

        def stale() -> list[str]:
            objects = self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return [o.object_name for o in objects
                    if o.object_name and o.last_modified is not None and o.last_modified < cutoff]

        keys = await self._run(stale)
        await self.delete(*keys)
        return len(keys)
