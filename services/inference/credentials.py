"""The C2PA signing credentials: configured files in production, a local CA in development."""

from __future__ import annotations

from dataclasses import dataclass

from services.inference import devca
from services.inference.settings import InferenceSettings
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Credentials:
    chain_pem: bytes
    key_pem: bytes
    trust_anchors_pem: bytes | None
    source: str  # "configured" or the dev CA's directory


def load_credentials(settings: InferenceSettings) -> Credentials:
    if settings.c2pa_key_file and settings.c2pa_chain_file:
        anchors = settings.c2pa_trust_anchors_file.read_bytes() if settings.c2pa_trust_anchors_file else None
        if anchors is None and settings.environment == "production":
            raise RuntimeError("ATELIER_C2PA_TRUST_ANCHORS_FILE is required in production")
        return Credentials(settings.c2pa_chain_file.read_bytes(), settings.c2pa_key_file.read_bytes(), anchors,
                           "configured")
    if settings.environment == "production":
        raise RuntimeError("production signs with configured credentials: set ATELIER_C2PA_KEY_FILE, "
                           "ATELIER_C2PA_CHAIN_FILE and ATELIER_C2PA_TRUST_ANCHORS_FILE")
    ca = devca.ensure_dev_ca(settings.dev_ca_dir)
    log.info("inference.c2pa.dev_ca", directory=str(ca.directory))
    anchors = settings.c2pa_trust_anchors_file.read_bytes() if settings.c2pa_trust_anchors_file else ca.root_pem
    return Credentials(ca.chain_pem, ca.key_pem, anchors, str(ca.directory))
