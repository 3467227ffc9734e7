"""C2PA provenance for generated images: sign at creation, verify on request.

Signing embeds a manifest whose `c2pa.created` action has digitalSourceType trainedAlgorithmicMedia,
plus our `org.atelier.generation` assertion (model, version, seed, mode, parameters, output index), a
CAWG `cawg.training-mining` assertion (whether the image itself may train AI: the model owner's
choice, `notAllowed` by default) and the model version with its dataset hash (`org.atelier.model`
and an `inputTo` ingredient).
Verification reports `valid` (signature good, chain trusted), `untrusted` (intact, but the signer
is not under our trust anchors), `tampered` (manifest present but the image or claim fails
validation) or `absent` (no manifest), and looks for the invisible watermark so that an image
whose metadata was stripped can still name its generation.

c2pa-python works offline here: trust comes only from the configured anchors, no remote manifest
fetch, no OCSP, no timestamp authority, no thumbnail (it would add ~88 KB and ~50 ms per image).
All calls are synchronous and CPU-bound: run them in an executor. Measured on 64-128 px PNGs:
sign ≈ 2-3 ms, verify ≈ 2 ms, +3.5 KB.

How reproducible the signed bytes are. Everything we control is a function of the inputs: the
manifest carries no generation id and no time, its label (`urn:c2pa:<uuid>`) and instance id are
derived from a hash of the inputs and of the unsigned pixels, and an Ed25519 signer gives
deterministic signatures (RFC 8032). What remains random is inside c2pa-rs 0.91 (c2pa-python
0.38.1): every assertion's JUMBF box gets a fresh 16-byte salt (`c2sh` box, C2PA 2.x, meant to
stop guessing of redacted assertions), there is no setting to turn it off, and the claim hashes
the salted boxes, so the claim and its signature change too. Two signings of the same image differ
in exactly those bytes (tests/unit/inference/test_inference_provenance.py shows it). So the
service guarantees, and records per output as `image_sha256`, identical *unsigned* PNG bytes
(identical pixels) for identical inputs; the signed file differs by its salts.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import c2pa

from services.inference import png_codec, watermark

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATION_ASSERTION = "org.atelier.generation"
TRAINING_ASSERTION = "cawg.training-mining"
# The uses a CAWG training-and-data-mining assertion rules on.
TRAINING_KINDS = ("cawg.ai_generative_training", "cawg.ai_inference", "cawg.ai_training", "cawg.data_mining")
MODEL_ASSERTION = "org.atelier.model"
SUPPORTED_TYPES = ("image/png", "image/jpeg", "image/webp")
CLAIM_GENERATOR = {"name": "atelier-inference", "version": "0.1.0"}

State = Literal["valid", "untrusted", "tampered", "absent"]


class ProvenanceError(ValueError):
    """The bytes cannot be read as an image of the stated type (the service answers 415/422)."""


@dataclass(frozen=True)
class GenerationInfo:
    """What the signed `org.atelier.generation` assertion records about one output.

    No generation id and no time: the manifest is a function of what produced the pixels. The
    watermark id (128 px and larger) is per generation, but so are those pixels.
    """

    model_id: str
    version: int
    seed: int
    mode: str
    index: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)
    watermark_id: str | None = None  # the short id embedded in the pixels, when there is one


@dataclass(frozen=True)
class TrainingInfo:
    """What a generated image says about training: the CAWG `use` of itself for AI training and data
    mining (the model owner's choice, `notAllowed` by default), and the model version it came from
    with the hash of that version's training set (an ingredient of the image)."""

    use: str = "notAllowed"  # "notAllowed" | "allowed" | "constrained"
    dataset_sha256: str | None = None


def training_assertion(use: str) -> dict[str, Any]:
    """A CAWG training-and-data-mining assertion with the same `use` for every kind of use."""
    return {"label": TRAINING_ASSERTION,
            "data": {"entries": {kind: {"use": use} for kind in TRAINING_KINDS}}}


def model_ingredient(info: GenerationInfo, training: TrainingInfo) -> dict[str, Any]:
    """The model version as an `inputTo` ingredient: its id, version and dataset hash."""
    return {
        "title": f"style model {info.model_id} v{info.version}",
        "format": "application/onnx",
        "relationship": "inputTo",
        "instance_id": f"atelier:model:{info.model_id}:v{info.version}",
        "metadata": {"dataType": "model", "model_id": info.model_id, "version": info.version,
                     "dataset_sha256": training.dataset_sha256},
    }


def offline_settings(trust_anchors_pem: bytes | str | None) -> dict[str, Any]:
    """c2pa settings for signing and reading without any network access."""
    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    }
    if trust_anchors_pem:
        anchors = trust_anchors_pem.decode() if isinstance(trust_anchors_pem, bytes) else trust_anchors_pem
        settings["trust"] = {"user_anchors": anchors}
    return settings


def manifest_uuid(info: GenerationInfo, image: bytes) -> uuid.UUID:
    """A UUID derived from the generation inputs and the unsigned image bytes.

    It carries version-4 bits because c2pa-rs accepts no other claim GUID ("invalid Claim GUID").
    """
    canonical = json.dumps(asdict(info), sort_keys=True, separators=(",", ":")).encode()
    digest = bytearray(hashlib.sha256(canonical + b"\0" + hashlib.sha256(image).digest()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return uuid.UUID(bytes=bytes(digest))


def manifest_definition(info: GenerationInfo, content_type: str = "image/png", image: bytes = b"",
                        training: TrainingInfo | None = None) -> dict[str, Any]:
    ident = manifest_uuid(info, image)
    training = training or TrainingInfo()
    return {
        "claim_generator_info": [CLAIM_GENERATOR],
        "title": f"{info.model_id}-v{info.version}-{info.seed}-{info.index}.{content_type.split('/')[-1]}",
        "format": content_type,
        # Fixed here, or c2pa-rs draws random ones.
        "label": f"urn:c2pa:{ident}",
        "instance_id": f"xmp:iid:{ident}",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": CLAIM_GENERATOR,
                        }
                    ]
                },
            },
            {"label": GENERATION_ASSERTION, "data": asdict(info)},
            training_assertion(training.use),
            {"label": MODEL_ASSERTION, "data": {"model_id": info.model_id, "version": info.version,
                                                "dataset_sha256": training.dataset_sha256}},
        ],
        "ingredients": [model_ingredient(info, training)],
    }


class Signer:
    """Signs generated images with one certificate chain (dev CA locally, configured in production)."""

    def __init__(self, chain_pem: bytes, key_pem: bytes, alg: str | None = None) -> None:
        alg = alg or signing_alg(key_pem)
        # The c2pa signer parses the PEMs once; it is safe to share across executor threads.
        self._signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(c2pa.C2paSigningAlg[alg.upper()], chain_pem, key_pem, None)
        )
        self._context = c2pa.Context.from_dict(offline_settings(None))

    def sign(self, image: bytes, info: GenerationInfo, content_type: str = "image/png",
             training: TrainingInfo | None = None) -> bytes:
        """The image with an embedded, signed C2PA manifest describing `info` (and `training`)."""
        builder = c2pa.Builder(manifest_definition(info, content_type, image, training), context=self._context)
        dest = io.BytesIO()
        try:
            builder.sign(self._signer, content_type, io.BytesIO(image), dest)
        except c2pa.C2paError as exc:
            raise ProvenanceError(f"cannot sign this {content_type}: {exc}") from exc
        return dest.getvalue()

    def close(self) -> None:
        self._signer.close()
        self._context.close()


def signing_alg(key_pem: bytes) -> str:
    """The C2PA algorithm name for a PEM private key: Ed25519, or ECDSA by curve."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curves = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in curves:
            return curves[key.curve.name]
    raise ValueError(f"unsupported C2PA signing key: {type(key).__name__}")


class Verifier:
    """Checks manifests against the configured trust anchors and looks for the watermark."""

    def __init__(self, trust_anchors_pem: bytes | str | None) -> None:
        self._context = c2pa.Context.from_dict(offline_settings(trust_anchors_pem))

    def verify(self, image: bytes, content_type: str = "image/png") -> dict[str, Any]:
        """{state, manifest, validation_errors, generation, watermark_id} (watermark_id: 8 hex digits or None)."""
        if content_type not in SUPPORTED_TYPES:
            raise ProvenanceError(f"unsupported media type {content_type}")
        result: dict[str, Any] = {
            "state": "absent",
            "manifest": None,
            "validation_errors": [],
            "generation": None,
            "watermark_id": _watermark_id(image),
            "training": None,
        }
        try:
            reader = c2pa.Reader(content_type, io.BytesIO(image), context=self._context)
        except c2pa.C2paError.ManifestNotFound:
            return result
        except c2pa.C2paError as exc:
            raise ProvenanceError(f"not a readable {content_type}: {exc}") from exc
        with reader:
            manifest = reader.get_active_manifest()
            results = reader.get_validation_results() or {}
            state = reader.get_validation_state()
        failures = (results.get("activeManifest") or {}).get("failure", [])
        result["manifest"] = manifest
        result["validation_errors"] = [{"code": f.get("code"), "explanation": f.get("explanation")} for f in failures]
        result["state"] = _state(state, failures)
        result["generation"] = _generation_assertion(manifest)
        result["training"] = training_summary(manifest)
        return result

    def close(self) -> None:
        self._context.close()


def _state(c2pa_state: str | None, failures: list[dict[str, Any]]) -> State:
    if c2pa_state == "Trusted":
        return "valid"
    codes = {f.get("code") for f in failures}
    if c2pa_state == "Valid" and codes <= {"signingCredential.untrusted"}:
        return "untrusted"
    return "tampered"


def _assertion(manifest: dict[str, Any] | None, *labels: str) -> dict[str, Any] | None:
    for assertion in (manifest or {}).get("assertions", []):
        if assertion.get("label") in labels:
            data = assertion.get("data")
            parsed = data if isinstance(data, dict) else json.loads(data) if isinstance(data, str) else None
            return parsed if isinstance(parsed, dict) else None
    return None


def _generation_assertion(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    return _assertion(manifest, GENERATION_ASSERTION)


def source_types(manifest: dict[str, Any] | None) -> list[str]:
    """The digitalSourceType names (the IPTC term after the last `/`) of the manifest's actions."""
    found: list[str] = []
    for label in ("c2pa.actions", "c2pa.actions.v2"):
        for action in (_assertion(manifest, label) or {}).get("actions", []) or []:
            value = action.get("digitalSourceType") if isinstance(action, dict) else None
            if isinstance(value, str) and value:
                found.append(value.rsplit("/", 1)[-1])
    return list(dict.fromkeys(found))


def training_summary(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a manifest says about training AI on the image and about what made it; None without one."""
    if manifest is None:
        return None
    data = _assertion(manifest, TRAINING_ASSERTION, "c2pa.training-mining") or {}
    raw = data.get("entries")
    entries: dict[str, Any] = raw if isinstance(raw, dict) else {}
    uses = {k: v.get("use") for k, v in entries.items() if isinstance(v, dict) and isinstance(v.get("use"), str)}
    model = _assertion(manifest, MODEL_ASSERTION)
    return {
        "declared": bool(uses),
        "allowed": (all(u == "allowed" for u in uses.values()) if uses else None),
        "uses": uses,
        "source_types": source_types(manifest),
        "model": model,
    }


# Generated images are at most a few hundred pixels; a much larger copy was resized, which removes
# the mark anyway, and decoding it would cost seconds of CPU per verify request.
MAX_WATERMARK_PIXELS = 1024 * 1024


def _watermark_id(image: bytes) -> str | None:
    try:
        width, height = png_codec.image_size(image)
        if width * height > MAX_WATERMARK_PIXELS:
            return None
        pixels = png_codec.decode_image(image)
    except png_codec.ImageDecodeError:
        return None  # the C2PA reader reports what is wrong with the bytes
    payload = watermark.extract(pixels)
    return None if payload is None else watermark.format_short_id(payload)
