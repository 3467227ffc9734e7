"""A development certificate chain for C2PA signing, made locally with `cryptography`.

Production takes its signing certificate and key from configuration; development and tests make a
root CA → intermediate CA → end-entity chain here, with what C2PA validators demand of a signer:
the end-entity is not a CA and not self-signed, has keyUsage digitalSignature only, an extended key
usage of emailProtection/documentSigning, and Authority/Subject Key Identifiers. The CAs use ECDSA
P-256; the signer uses Ed25519, whose signatures are deterministic (RFC 8032).

`ensure_dev_ca(directory)` is idempotent: it reuses a complete, unexpired chain found there and only
makes a new one otherwise, under a file lock so that concurrent processes agree on one chain.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_CERT = "root.pem"
INTERMEDIATE_CERT = "intermediate.pem"
SIGNER_CERT = "signer.pem"
SIGNER_KEY = "signer.key"
CHAIN = "chain.pem"  # end-entity first, then the intermediate; the root is omitted
_ALL = (ROOT_CERT, INTERMEDIATE_CERT, SIGNER_CERT, SIGNER_KEY, CHAIN)
# A chain this close to expiry is replaced rather than reused.
_RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class DevCA:
    directory: Path
    chain_pem: bytes  # end-entity + intermediate: what the C2PA signer embeds
    key_pem: bytes  # end-entity private key (PKCS#8)
    root_pem: bytes  # trust anchor for verification

    @property
    def chain_path(self) -> Path:
        return self.directory / CHAIN

    @property
    def key_path(self) -> Path:
        return self.directory / SIGNER_KEY

    @property
    def root_path(self) -> Path:
        return self.directory / ROOT_CERT


def ensure_dev_ca(directory: Path | str, organization: str = "Atelier Development") -> DevCA:
    """Return the development chain stored in `directory`, creating it if absent or expiring."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = _load(directory)
        if existing is not None:
            return existing
        _create(directory, organization)
        loaded = _load(directory)
        assert loaded is not None  # just written
        return loaded


def _load(directory: Path) -> DevCA | None:
    if not all((directory / name).is_file() for name in _ALL):
        return None
    try:
        # The chain's first certificate is what gets embedded: it must match the key.
        signer = x509.load_pem_x509_certificates((directory / CHAIN).read_bytes())[0]
        key = serialization.load_pem_private_key((directory / SIGNER_KEY).read_bytes(), password=None)
    except ValueError:
        return None  # damaged files: make a fresh chain
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if signer.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        return None
    if signer.not_valid_after_utc - _RENEW_BEFORE < dt.datetime.now(dt.UTC):
        return None
    return DevCA(
        directory=directory,
        chain_pem=(directory / CHAIN).read_bytes(),
        key_pem=(directory / SIGNER_KEY).read_bytes(),
        root_pem=(directory / ROOT_CERT).read_bytes(),
    )


def _create(directory: Path, organization: str) -> None:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate small clock skew
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    signer_key = ed25519.Ed25519PrivateKey.generate()

    root_name = _name(organization, f"{organization} Root CA")
    root = _ca_cert(root_name, root_key, root_name, root_key, now, days=3650, path_length=1)
    inter_name = _name(organization, f"{organization} Intermediate CA")
    inter = _ca_cert(inter_name, inter_key, root_name, root_key, now, days=1825, path_length=0)
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(organization, f"{organization} Generation Signer"))
        .issuer_name(inter_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), critical=False)
        .sign(inter_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    key_pem = signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(directory / SIGNER_KEY, key_pem, private=True)
    _write(directory / ROOT_CERT, root.public_bytes(pem))
    _write(directory / INTERMEDIATE_CERT, inter.public_bytes(pem))
    _write(directory / SIGNER_CERT, signer.public_bytes(pem))
    # The chain last: its presence marks a complete set for `_load`.
    _write(directory / CHAIN, signer.public_bytes(pem) + inter.public_bytes(pem))


_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def _name(organization: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, digital_signature: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
    *,
    days: int,
    path_length: int,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    # Write then rename, so a reader never sees half a file.
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
