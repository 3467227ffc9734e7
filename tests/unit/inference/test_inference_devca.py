"""Development CA: a chain C2PA accepts, made once and reused."""

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from services.inference import devca


def test_chain_has_what_c2pa_demands_of_a_signer(tmp_path: Path) -> None:
    ca = devca.ensure_dev_ca(tmp_path / "ca")
    chain = x509.load_pem_x509_certificates(ca.chain_pem)
    root = x509.load_pem_x509_certificate(ca.root_pem)
    assert len(chain) == 2  # end-entity first, then the intermediate; root omitted
    leaf, intermediate = chain
    assert leaf.issuer == intermediate.subject and intermediate.issuer == root.subject
    assert leaf.subject != leaf.issuer  # not self-signed
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)

    ext = leaf.extensions
    assert ext.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca is False
    usage = ext.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    assert usage.digital_signature and not usage.key_cert_sign
    eku = ext.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert ExtendedKeyUsageOID.SERVER_AUTH not in eku
    ext.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    for cert in (intermediate, root):
        assert cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
        cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    assert oct(ca.key_path.stat().st_mode & 0o777) == "0o600"


def test_second_call_reuses_the_chain_and_a_damaged_one_is_replaced(tmp_path: Path) -> None:
    first = devca.ensure_dev_ca(tmp_path)
    again = devca.ensure_dev_ca(tmp_path)
    assert again == first

    (tmp_path / devca.SIGNER_KEY).write_text("garbage")
    replaced = devca.ensure_dev_ca(tmp_path)
    assert replaced.key_pem != first.key_pem and replaced.root_pem != first.root_pem
    assert devca.ensure_dev_ca(tmp_path) == replaced
