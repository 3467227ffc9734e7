"""Settings of the assets service (`ATELIER_*` environment variables).

Beyond the shared service, database and S3 variables:

- `ATELIER_UPLOAD_MAX_BYTES` (20 MiB): largest file accepted through the gateway's upload route;
  the gateway reads the same variable and cuts a stream off past it.
- `ATELIER_DIRECT_UPLOAD_MAX_BYTES` (200 MiB): largest file accepted by a direct presigned upload
  (`POST /v1/assets/uploads` then `/complete`); a presigned PUT cannot cap its size, so `complete`
  checks it and discards anything larger.
- `ATELIER_MAX_PIXELS` (40,000,000): width * height * frames above which an image is refused as a
  possible decompression bomb, before its pixels are decoded.
- `ATELIER_THUMBNAIL_SIZE` (256): the longest side of thumbnails, in pixels (WebP).
- `ATELIER_PRESIGN_EXPIRY_S` (900): lifetime of presigned upload and download URLs.
- `ATELIER_S3_PUBLIC_ENDPOINT` (unset): host:port that clients outside the cluster use to reach the
  store; direct-upload URLs are signed for it. Unset: the internal `ATELIER_S3_ENDPOINT`.
- `ATELIER_STAGING_MAX_AGE_S` (86400): staged uploads never completed are deleted after this long.
- `ATELIER_QUOTA_STORED_BYTES_PER_USER` (5 GiB): bytes one user may hold (originals of every kind);
  an upload that would pass it is refused when it completes (429, the staged bytes removed).
  `ATELIER_QUOTA_STORED_RETRY_AFTER_S` (3600) is that 429's `Retry-After` (space frees up only
  when the user deletes assets).
- `ATELIER_PROCESSING_WORKERS` (2): images decoded at once; bounds memory (a 40 MP image decodes to
  ~160 MB).
- `ATELIER_NEAR_DUPLICATE_MAX_DISTANCE` (6): an upload whose 64-bit pHash is at most this many bits
  from an asset another artist shows in a public or unlisted work is recorded as its near
  duplicate (resized and re-encoded copies measure 0-4, unrelated works 20 or more). Up to 7 the
  candidates come from an index (every one of them); above it every shown upload is compared.
  -1 turns the check off (hashes are still stored).
- `ATELIER_NEAR_DUPLICATE_MAX_DHASH_DISTANCE` (12): the dHash must be this near too (a second opinion).
"""

from __future__ import annotations

from pydantic import Field

from shared.settings import DatabaseSettings, S3Settings, ServiceSettings


class AssetsSettings(ServiceSettings, DatabaseSettings, S3Settings):
    service_name: str = "assets"
    http_port: int = Field(8082, ge=0, le=65535)

    upload_max_bytes: int = Field(20 * 1024**2, ge=1)
    direct_upload_max_bytes: int = Field(200 * 1024**2, ge=1)
    max_pixels: int = Field(40_000_000, ge=1)
    thumbnail_size: int = Field(256, ge=16, le=2048)
    presign_expiry_s: int = Field(900, ge=10, le=7 * 24 * 3600)
    s3_public_endpoint: str | None = None
    staging_max_age_s: float = Field(24 * 3600, ge=60)
    quota_stored_bytes_per_user: int = Field(5 * 1024**3, ge=1)
    quota_stored_retry_after_s: int = Field(3600, ge=1)
    processing_workers: int = Field(2, ge=1, le=32)
    near_duplicate_max_distance: int = Field(6, ge=-1, le=32)
    near_duplicate_max_dhash_distance: int = Field(12, ge=0, le=64)
