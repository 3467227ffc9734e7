"""The shared object-store client against the real S3 store of the test stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from shared.ids import new_id
from shared.objectstore import ObjectStore
from shared.settings import S3Settings


@pytest.fixture
async def objects(endpoints: Any) -> AsyncIterator[ObjectStore]:
    store = ObjectStore(S3Settings(s3_endpoint=endpoints.s3_endpoint, s3_access_key=endpoints.s3_access_key,
                                   s3_secret_key=endpoints.s3_secret_key, s3_bucket=endpoints.s3_bucket,
                                   s3_timeout_s=10.0))
    await store.ensure_bucket()
    yield store
    store.close()


async def test_write_read_size_copy_delete(objects: ObjectStore) -> None:
    key, twin = f"tests/objectstore/{new_id()}", f"tests/objectstore/{new_id()}"
    assert await objects.read(key) is None
    assert await objects.size(key) is None

    await objects.write(key, b"some bytes", "application/octet-stream")
    assert await objects.read(key) == b"some bytes"
    assert await objects.size(key) == 10

    await objects.copy(key, twin)
    assert await objects.read(twin) == b"some bytes"

    await objects.delete(key, twin)
    assert await objects.read(key) is None
    assert await objects.size(twin) is None
    await objects.delete(key)  # deleting what is gone is not an error


async def test_bucket_checks(objects: ObjectStore, endpoints: Any) -> None:
    assert await objects.reachable()
    await objects.ensure_bucket()  # a second time: the bucket is there, nothing to do
    elsewhere = ObjectStore(S3Settings(s3_endpoint=endpoints.s3_endpoint, s3_access_key=endpoints.s3_access_key,
                                       s3_secret_key=endpoints.s3_secret_key, s3_bucket=f"absent-{new_id().lower()}"))
    try:
        assert not await elsewhere.reachable()
        assert await elsewhere.read("anything") is None  # a missing bucket holds no objects
    finally:
        elsewhere.close()


async def test_presigned_urls_work_without_credentials(objects: ObjectStore) -> None:
    key = f"tests/objectstore/{new_id()}"
    put_url, _ = objects.presign_put(key, 60)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.put(put_url, data=b"uploaded directly") as resp:
            assert resp.status == 200
        async with http.get(objects.presign_get(key, 60)) as resp:
            assert resp.status == 200
            assert await resp.read() == b"uploaded directly"
        async with http.get(objects.presign_get(key, 60) + "0") as resp:  # signature tampered with
            assert resp.status == 403
    await objects.delete(key)


async def test_delete_older_than_keeps_recent_objects_and_other_prefixes(objects: ObjectStore) -> None:
    prefix = f"tests/sweep/{new_id()}/"
    await objects.write(prefix + "old", b"1", "text/plain")
    outside = f"tests/other/{new_id()}"
    await objects.write(outside, b"2", "text/plain")
    await asyncio.sleep(4.0)
    await objects.write(prefix + "new", b"3", "text/plain")

    # Modification times may be whole seconds (so an object can look up to 1 s older than it is),
    # and a loaded machine can be slow between the writes and the sweep's own clock reading.
    # With 4 s between the writes and a 3 s cutoff: "old" is at least 4 s old when swept, 1 s past
    # the cutoff however slow the machine (slowness only ages it); "new" looks at most 1 s + the
    # time from its write to the sweep old, so it is kept unless that time exceeds 2 s.
    assert await objects.delete_older_than(prefix, max_age_s=3.0) == 1
    assert await objects.read(prefix + "old") is None
    assert await objects.read(prefix + "new") == b"3"
    assert await objects.read(outside) == b"2"
    assert await objects.delete_older_than(prefix, max_age_s=3600) == 0
    await objects.delete(prefix + "new", outside)
