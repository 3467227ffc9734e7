"""The one client for the platform's S3 bucket, used by assets, trainer and inference.

Why it exists: the `minio` client is synchronous and, left to its defaults, retries for a long time
and can wait on a socket without end. Here every call runs in a small thread pool (never on the
event loop); every HTTP request has connect and read timeouts and a bounded retry; every call has an
overall deadline that still leaves room for those retries. A missing object reads as `None`.

Presigning is local computation (the region is configured, so minio never asks the store where the
bucket lives) and so stays synchronous. `public=True` signs for `public_endpoint`, the host:port that
clients outside the cluster use; the signature covers the host, so it must be signed for that one.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from shared.settings import S3Settings

T = TypeVar("T")

# "No such object" as S3 stores name it, and as minio-py names a bodiless 404 (HEAD). A missing
# bucket counts as missing too: nothing can be read from it.
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchBucket", "NotFound", "ResourceNotFound"})
_BUCKET_TAKEN = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
CONNECT_TIMEOUT_S = 5.0
RETRIES = 2  # after the first attempt; on connection errors and 502/503/504
REACHABLE_TIMEOUT_S = 5.0


def http_client(timeout_s: float, maxsize: int) -> urllib3.PoolManager:
    """Connection pool with socket timeouts and a bounded retry (minio's own default retries 5 times)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT_S, timeout_s), read=timeout_s),
        retries=urllib3.Retry(total=RETRIES, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
        maxsize=maxsize,
    )


def none_if_missing(call: Callable[[], T]) -> T | None:
    """`call()`, or None when the store answers that the object (or bucket) does not exist."""
    try:
        return call()
    except S3Error as exc:
        if exc.code in MISSING_CODES:
            return None
        raise


class ObjectStore:
    def __init__(self, settings: S3Settings, *, workers: int = 4, public_endpoint: str | None = None) -> None:
        self.bucket = settings.s3_bucket
        # Each attempt is bounded by the socket timeouts; the deadline lets every attempt run.
        self._deadline_s = settings.s3_timeout_s * (RETRIES + 1)
        self._client = self._minio(settings.s3_endpoint, settings, workers)
        self._public = self._minio(public_endpoint, settings, 1) if public_endpoint else self._client
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3")

    @staticmethod
    def _minio(endpoint: str, settings: S3Settings, workers: int) -> Minio:
        return Minio(endpoint, access_key=settings.s3_access_key, secret_key=settings.s3_secret_key.get_secret_value(),
                     secure=settings.s3_secure, region=settings.s3_region,
                     http_client=http_client(settings.s3_timeout_s, workers))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, call: Callable[[], T], deadline_s: float | None = None) -> T:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, call), deadline_s or self._deadline_s)

    # -- presigned URLs (no network) -------------------------------------------------------------

    def presign_get(self, key: str, expiry_s: int, *, public: bool = False) -> str:
        client = self._public if public else self._client
        return client.presigned_get_object(self.bucket, key, expires=timedelta(seconds=expiry_s))

    def presign_put(self, key: str, expiry_s: int, *, public: bool = False) -> tuple[str, datetime]:
        """The URL and when it stops working."""
        client = self._public if public else self._client
        url = client.presigned_put_object(self.bucket, key, expires=timedelta(seconds=expiry_s))
        return url, datetime.now(UTC) + timedelta(seconds=expiry_s)

    # -- bucket ----------------------------------------------------------------------------------

    async def reachable(self) -> bool:
        """Whether the store answers and the bucket exists (a readiness check)."""
        return await self._run(lambda: bool(self._client.bucket_exists(self.bucket)), REACHABLE_TIMEOUT_S)

    async def ensure_bucket(self) -> None:
        def ensure() -> None:
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as exc:  # another service made it meanwhile
                if exc.code not in _BUCKET_TAKEN:
                    raise

        await self._run(ensure)

    # -- objects ---------------------------------------------------------------------------------

    async def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when it does not exist."""
        stat = await self._run(lambda: none_if_missing(lambda: self._client.stat_object(self.bucket, key)))
        return None if stat is None else int(stat.size or 0)

    async def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

        def fetch() -> bytes | None:
            response = none_if_missing(lambda: self._client.get_object(self.bucket, key))
            if response is None:
                return None
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await self._run(fetch)

    async def write(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await self._run(lambda: self._client.put_object(self.bucket, key, io.BytesIO(data), len(data),
                                                        content_type=content_type))

    async def copy(self, source: str, target: str) -> None:
        """Server-side copy within the bucket (the bytes do not pass through this process)."""
        await self._run(lambda: self._client.copy_object(self.bucket, target, CopySource(self.bucket, source)))

    async def delete(self, *keys: str) -> None:
        """Delete each key; one by one, since the local store leaves folders behind on bulk delete.
        Deleting a key that does not exist succeeds (S3 semantics)."""
        for key in keys:
            await self._run(functools.partial(self._client.remove_object, self.bucket, key))

    async def delete_older_than(self, prefix: str, max_age_s: float) -> int:
        """Delete the objects under `prefix` last modified more than `max_age_s` ago; returns the count."""
        cutoff = datetime.now(UTC) - timedelta(seconds=max_age_s)

        def stale() -> list[str]:
            objects = self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return [o.object_name for o in objects
                    if o.object_name and o.last_modified is not None and o.last_modified < cutoff]

        keys = await self._run(stale)
        await self.delete(*keys)
        return len(keys)
