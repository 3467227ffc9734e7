"""What an uploaded file's C2PA manifest declares, read before its metadata is stripped.

The stored copy has no manifest (uploads are stripped), so what matters is recorded with the asset:
the manifest's digital source types (an AI source type such as `trainedAlgorithmicMedia` means the
file cannot be published as `human` work) and its training-and-data-mining assertion (CAWG
`cawg.training-mining` or C2PA `c2pa.training-mining`; a `notAllowed` use pins the work's
`allow_training` to false). A declaration counts whether or not its signer is trusted: it is the
file's own word about itself, and honouring it can only make the platform more careful.

Offline: no remote manifests, no OCSP. Pure and CPU-bound (runs in the processing pool).
"""

from __future__ import annotations

import io
import json
from typing import Any

import c2pa

from services.assets.metadata import sniff

# IPTC digital source types that say a model made (some of) the pixels.
AI_SOURCE_TYPES = frozenset({
    "trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
    "compositeSynthetic", "algorithmicallyEnhanced"})
TRAINING_LABELS = ("cawg.training-mining", "c2pa.training-mining")
_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


def _data(assertion: dict[str, Any]) -> dict[str, Any]:
    data = assertion.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def summarize(manifest: dict[str, Any]) -> dict[str, Any]:
    """{source_types, ai_generated, training_allowed (None: not declared), uses}."""
    sources: list[str] = []
    uses: dict[str, str] = {}
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        label = assertion.get("label")
        if label in ("c2pa.actions", "c2pa.actions.v2"):
            for action in _data(assertion).get("actions") or []:
                value = action.get("digitalSourceType") if isinstance(action, dict) else None
                if isinstance(value, str) and value:
                    sources.append(value.rsplit("/", 1)[-1])
        elif label in TRAINING_LABELS:
            entries = _data(assertion).get("entries")
            for kind, entry in (entries.items() if isinstance(entries, dict) else []):
                if isinstance(entry, dict) and isinstance(entry.get("use"), str):
                    uses[str(kind)] = entry["use"]
    sources = list(dict.fromkeys(sources))
    return {"source_types": sources, "ai_generated": any(s in AI_SOURCE_TYPES for s in sources),
            "training_allowed": None if not uses else all(u == "allowed" for u in uses.values()), "uses": uses}


def read_declaration(data: bytes) -> dict[str, Any] | None:
    """The declaration of the file's active manifest, or None when it carries none (or none readable)."""
    content_type = sniff(data)
    if content_type is None:
        return None
    try:
        context = c2pa.Context.from_dict(_SETTINGS)
    except c2pa.C2paError:
        return None
    try:
        with c2pa.Reader(content_type, io.BytesIO(data), context=context) as reader:
            manifest = reader.get_active_manifest()
    except c2pa.C2paError:
        return None  # no manifest, or one too broken to say anything
    finally:
        context.close()
    return summarize(manifest) if isinstance(manifest, dict) else None
