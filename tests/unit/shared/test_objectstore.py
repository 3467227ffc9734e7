"""The shared object-store client's local parts: presigned URLs (computed, no network), what counts
as a missing object, and the HTTP limits every request runs under."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from minio.error import S3Error

from shared.objectstore import ObjectStore, http_client, none_if_missing
from shared.settings import S3Settings

# Unresolvable hosts: presigning must not need the network.
SETTINGS = S3Settings(s3_endpoint="store.internal.invalid:9000", s3_bucket="atelier", s3_timeout_s=12.0)


@pytest.fixture
def store() -> Iterator[ObjectStore]:
    objects = ObjectStore(SETTINGS, public_endpoint="uploads.example.invalid:443")
    yield objects
    objects.close()


def _s3_error(code: str) -> S3Error:
    return S3Error(None, code, "message", "/atelier/key", "request-id", "host-id")  # type: ignore[arg-type]


def test_presigned_get_is_signed_for_the_internal_endpoint_by_default(store: ObjectStore) -> None:
    url = urlsplit(store.presign_get("originals/u/a", 600))
    query = parse_qs(url.query)
    assert url.netloc == "store.internal.invalid:9000"
    assert url.path == "/atelier/originals/u/a"
    assert query["X-Amz-Expires"] == ["600"]
    assert query["X-Amz-Credential"][0].startswith("atelier/")
    assert "X-Amz-Signature" in query


def test_public_presigned_put_is_signed_for_the_public_endpoint(store: ObjectStore) -> None:
    before = datetime.now(UTC)
    url, expires_at = store.presign_put("staging/u/a", 900, public=True)
    assert urlsplit(url).netloc == "uploads.example.invalid:443"
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["900"]
    assert before + timedelta(seconds=899) <= expires_at <= datetime.now(UTC) + timedelta(seconds=901)
    internal, _ = store.presign_put("staging/u/a", 900)
    assert urlsplit(internal).netloc == "store.internal.invalid:9000"


def test_without_a_public_endpoint_public_urls_use_the_internal_one() -> None:
    objects = ObjectStore(SETTINGS)
    try:
        url, _ = objects.presign_put("staging/u/a", 60, public=True)
        assert urlsplit(url).netloc == "store.internal.invalid:9000"
    finally:
        objects.close()


@pytest.mark.parametrize("code", ["NoSuchKey", "NoSuchObject", "NoSuchBucket", "NotFound", "ResourceNotFound"])
def test_missing_objects_read_as_none(code: str) -> None:
    def missing() -> bytes:
        raise _s3_error(code)

    assert none_if_missing(missing) is None
    assert none_if_missing(lambda: b"data") == b"data"


@pytest.mark.parametrize("code", ["AccessDenied", "SignatureDoesNotMatch", "InternalError"])
def test_other_store_errors_are_raised(code: str) -> None:
    def refused() -> bytes:
        raise _s3_error(code)

    with pytest.raises(S3Error) as raised:
        none_if_missing(refused)
    assert raised.value.code == code


def test_every_request_has_socket_timeouts_and_a_bounded_retry() -> None:
    pool = http_client(12.0, maxsize=3)
    timeout, retries = pool.connection_pool_kw["timeout"], pool.connection_pool_kw["retries"]
    assert timeout.connect_timeout == 5.0
    assert timeout.read_timeout == 12.0
    assert retries.total == 2
    assert pool.connection_pool_kw["maxsize"] == 3
    assert http_client(1.0, maxsize=1).connection_pool_kw["timeout"].connect_timeout == 1.0
