"""The assets service's operations (`svc.assets.<name>`): uploads, reading, deleting, storing.

Gateway-facing (they act as the calling user): `uploads.create`, `uploads.complete`,
`uploads.abort`, `get`, `content_url`, `delete`. Internal (trainer, inference, community):
`store`, `store_generated`, `describe`, `read_urls`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from shared.contracts.common import MAX_LIMIT, Id, Listing, Reply, Strict
from shared.contracts.events.catalog import AssetKind
from shared.contracts.operation import Operation, operation

ImageType = Literal["image/png", "image/jpeg", "image/webp"]
Colour = str  # "#rrggbb"
COMPLETE_TIMEOUT_S = 45.0  # decoding and thumbnailing a 40 MP image (seconds here), plus store round trips
ABORT_TIMEOUT_S = 5.0  # best effort: the sweeper removes what an abort could not
PALETTE_SIZE = 5
GENERATED_BATCH_MAX = 256  # images per store_generated call (callers also keep under the NATS payload)
STORE_GENERATED_TIMEOUT_S = 60.0  # a full batch of large images, object writes included

# -- requests -------------------------------------------------------------------------------------


class UploadCreate(Strict):
    direct: bool = Field(True, description="True: the URL is for the client itself (the store's public "
                                           "endpoint, the direct-upload limit); False: the gateway relays")


class UploadRef(Strict):
    asset_id: Id = Field(description="The upload's asset id, from its ticket")


class AssetRef(Strict):
    id: Id = Field(description="The asset's id (a ULID)")


class AssetContentRef(AssetRef):
    variant: Literal["content", "thumbnail"] = Field("content", description="The original or its thumbnail")


class AssetStoreRequest(Strict):
    owner_id: Id = Field(description="Whose asset it becomes")
    kind: Literal["generated", "sample"] = Field(description="What made the image")
    content_type: ImageType = Field("image/png", description="What the bytes must be (checked by content)")
    data_b64: str = Field(min_length=1, description="The image, base64; stored byte for byte")
    meta: dict[str, Any] | None = Field(None, description="Kept with the asset (generation, model, seed...)")


class GeneratedImage(Strict):
    """One image the platform made itself, with what its maker already measured."""

    owner_id: Id = Field(description="Whose asset it becomes")
    data_b64: str = Field(min_length=1, description="The signed PNG, base64; stored byte for byte")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the bytes, hex (checked, cheap)")
    width: int = Field(ge=1, le=65535, description="Pixels (checked against the PNG header, not decoded)")
    height: int = Field(ge=1, le=65535, description="Pixels (checked against the PNG header, not decoded)")
    palette: list[Annotated[str, StringConstraints(pattern=r"^#[0-9a-f]{6}$")]] = Field(
        min_length=PALETTE_SIZE, max_length=PALETTE_SIZE, description="Five dominant colours, most common first")
    meta: dict[str, Any] | None = Field(None, description="Kept with the asset (generation, model, seed...)")


class GeneratedStoreRequest(Strict):
    items: list[GeneratedImage] = Field(min_length=1, max_length=GENERATED_BATCH_MAX,
                                        description="The images, each stored (or refused) on its own")


class AssetDescribeRequest(Strict):
    ids: list[str] = Field(max_length=500, description="Asset ids (duplicates are answered once)")
    owner_id: str | None = Field(None, description="Only assets of this owner; the others count as missing")


class AssetReadUrlsRequest(Strict):
    ids: list[str] = Field(max_length=2000, description="Asset ids (duplicates are answered once)")
    expires_s: int | None = Field(None, ge=10, le=24 * 3600, description="Lifetime of the URLs (default: "
                                                                          "the service's presign expiry)")


class OwnedAssetsQuery(Strict):
    after: str | None = Field(None, max_length=64, description="`next_after` of the previous page")
    limit: int = Field(200, ge=1, le=500, description="Assets per page")


# -- answers --------------------------------------------------------------------------------------


class UploadTicket(Reply):
    asset_id: str = Field(description="The id the asset will have")
    upload_url: str = Field(description="Presigned URL to PUT the file to")
    method: Literal["PUT"] = "PUT"
    max_bytes: int = Field(description="Largest file `complete` accepts")
    expires_at: datetime = Field(description="When the URL stops working")


class AssetUrls(Reply):
    content: str = Field(description="The stored image (GET, Range, conditional GET)")
    thumbnail: str = Field(description="A WebP thumbnail (a generated image no larger than the "
                                       "thumbnail: the original itself)")


class AssetView(Reply):
    """An asset as clients see it."""

    id: str
    sha256: str = Field(description="SHA-256 of the stored bytes, hex")
    content_type: ImageType
    width: int
    height: int
    size: int = Field(description="Bytes of the stored original")
    kind: AssetKind
    palette: list[Colour] = Field(description="Five dominant colours, `#rrggbb`, most common first")
    created_at: datetime
    urls: AssetUrls


class AssetDetails(AssetView):
    """An asset's metadata, as `GET /v1/assets/{id}` answers it."""

    public: bool = Field(description="True when a public or unlisted work shows the asset, or it is a sample "
                         "grid of a public style model's version that was not withdrawn (anyone may see it)")


class UploadCompleted(Reply):
    asset: AssetView
    created: bool = Field(description="False: the same bytes were stored before (or complete ran twice)")


class AssetContentUrl(Reply):
    """Where the gateway streams an asset's bytes from, and what it answers with."""

    url: str = Field(description="Presigned GET, short-lived")
    content_type: str
    etag: str = Field(description="Strong validator: the bytes behind an id never change")
    public: bool
    size: int | None = Field(description="Bytes of the variant, when known")
    filename: str


class DeclaredProvenance(Reply):
    """An upload's C2PA manifest, as far as publishing cares."""

    source_types: list[str] = Field(description="digitalSourceType of its actions, e.g. trainedAlgorithmicMedia")
    ai_generated: bool = Field(description="an AI source type is declared: it cannot be published as human work")
    training_allowed: bool | None = Field(description="false: its training-and-data-mining assertion says "
                                                      "notAllowed (or constrained); null: not declared")
    uses: dict[str, str] = Field(default_factory=dict, description="use per kind of the assertion")


class NearOriginal(Reply):
    """Another artist's asset, shown by a work, that an upload nearly matches (perceptual hash)."""

    asset_id: str = Field(description="The original asset")
    work_id: str = Field(description="A work that showed it when the upload was checked")
    author_id: str = Field(description="The original's owner")
    distance: int = Field(description="Hamming distance of the 64-bit pHashes")
    work_public: bool = Field(description="The work is public now (false: unlisted, private or gone; "
                                          "do not name it to others)")


class AssetRecord(Reply):
    """An asset as other services see it (with its owner)."""

    id: str
    owner_id: str
    kind: AssetKind
    sha256: str
    content_type: ImageType
    width: int
    height: int
    size: int
    orientation: int = Field(description="EXIF orientation, 1-8")
    palette: list[Colour]
    created_at: datetime
    declared: DeclaredProvenance | None = Field(
        None, description="what the uploaded file's C2PA manifest declared, read before stripping (null: none)")
    near_duplicate_of: list[NearOriginal] = Field(
        default_factory=list, description="other artists' shown works this upload nearly matches, closest first "
                                          "(filled by `describe`)")


class StoredAsset(AssetRecord):
    created: bool = Field(description="False: the owner had these bytes already (that asset is answered)")


class StoreOutcome(Reply):
    """One item of a batched store: its asset, or why it was refused (the others are unaffected)."""

    asset: StoredAsset | None = Field(None, description="The stored (or already stored) asset")
    status: int | None = Field(None, description="When refused: the HTTP status the problem maps to")
    detail: str | None = Field(None, description="When refused: why")


class GeneratedStored(Reply):
    items: list[StoreOutcome] = Field(description="One per requested item, in the same order")


class AssetDescription(Reply):
    items: list[AssetRecord]
    missing: list[str] = Field(description="Requested ids that do not exist (or are not the owner's)")


class PossibleCopiesQuery(Strict):
    """`?limit=&cursor=` over uploads of others that nearly match your works."""

    limit: int = Field(20, ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT})")
    cursor: str | None = Field(None, max_length=64, description="`next_cursor` of the previous page")


class PossibleCopy(Reply):
    """Someone else's upload that nearly matches one of your shown works. Only what you need to act
    on it: who uploaded it, when, how near, and the public works (if any) that show it."""

    id: str = Field(description="This record's id")
    uploader_id: str = Field(description="The user who uploaded the similar image")
    detected_at: datetime = Field(description="When the upload was stored and compared")
    distance: int = Field(description="Hamming distance of the 64-bit perceptual hashes (0: the same picture)")
    original_asset_id: str = Field(description="Your asset it resembles")
    original_work_id: str = Field(description="Your work that showed it")
    published_in: list[str] = Field(description="Public works showing the copy now (anyone can see those); "
                                                "private or unlisted uses are not revealed")


class PossibleCopies(Listing[PossibleCopy]):
    """Uploads by other users that nearly match your works, newest first."""


class OwnedAssets(Reply):
    items: list[AssetRecord] = Field(description="The caller's assets, oldest first")
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last page")


class AssetReadUrls(Reply):
    urls: dict[str, str] = Field(description="Asset id -> presigned GET of its original")
    missing: list[str] = Field(description="Requested ids that do not exist")


# -- operations -----------------------------------------------------------------------------------

UPLOADS_CREATE = operation("assets", "uploads.create", UploadCreate, UploadTicket,
                           summary="Start a direct upload: PUT the file to upload_url, then POST "
                                   "/v1/assets/{id}/complete")
UPLOADS_COMPLETE = operation("assets", "uploads.complete", UploadRef, UploadCompleted,
                             summary="Validate and store an uploaded file", problems=(404, 413, 415, 422, 429),
                             timeout_s=COMPLETE_TIMEOUT_S)
UPLOADS_ABORT: Operation[UploadRef, Any] = operation("assets", "uploads.abort", UploadRef, None,
                          summary="Remove the staged bytes of an upload that will not be completed",
                          timeout_s=ABORT_TIMEOUT_S)
GET = operation("assets", "get", AssetRef, AssetDetails,
                summary="An asset's metadata (owner, or anyone once a visible work shows it)",
                actor="optional", problems=(404,))
CONTENT_URL = operation("assets", "content_url", AssetContentRef, AssetContentUrl,
                        summary="Where to stream an asset's bytes from", actor="optional", problems=(404,))
DELETE: Operation[AssetRef, Any] = operation("assets", "delete", AssetRef, None,
                   summary="Delete an asset no work uses (object, thumbnail and record)",
                   problems=(403, 404, 409, 503))
STORE = operation("assets", "store", AssetStoreRequest, StoredAsset,
                  summary="Store a generated image or a training sample exactly as given",
                  actor="none", problems=(413, 415, 422))
STORE_GENERATED = operation(
    "assets", "store_generated", GeneratedStoreRequest, GeneratedStored,
    summary="Store a batch of images the platform generated: no decode, the maker's size, hash and "
            "palette kept; a thumbnail only where it would be smaller than the original",
    actor="none", problems=(422,), timeout_s=STORE_GENERATED_TIMEOUT_S)
DESCRIBE = operation("assets", "describe", AssetDescribeRequest, AssetDescription,
                     summary="Assets in bulk, with their owners and palettes", actor="none")
READ_URLS = operation("assets", "read_urls", AssetReadUrlsRequest, AssetReadUrls,
                      summary="Presigned GETs of originals in bulk (training data)", actor="none")
OWNED = operation("assets", "owned", OwnedAssetsQuery, OwnedAssets,
                  summary="Your assets, oldest first (internal: the gateway's account export)")
POSSIBLE_COPIES = operation("assets", "possible_copies", PossibleCopiesQuery, PossibleCopies,
                            summary="Uploads by other users that nearly match your shown works (perceptual "
                                    "hash), newest first", problems=(400,))
