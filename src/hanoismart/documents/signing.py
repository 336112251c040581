"""PAdES signatures of results (pyHanko) and their verification.

Where the keys come from is ``settings.SIGNING_MODE`` (docs/documents.md):

- ``development``: on first use a development root CA is made under ``SIGNING_DIR`` and, per agency, a key
  and a certificate it issues (subject: the agency's name, its electronic code as organizationIdentifier).
  Creation holds a file lock and writes each file atomically, so two processes starting at once agree.
- ``files``: each agency's ``<code>.key.pem`` and ``<code>.cert.pem`` (and optionally ``<code>.chain.pem``)
  under ``SIGNING_DIR``, issued by the city's CA.
- ``pkcs11``: the key never leaves the HSM; its key and certificate are labelled with the agency's code.

Signatures are PAdES baseline B-B: a B-T signature needs a time-stamping authority, which we do not have.
Loaded signers are cached per process, so signing the demo's many results stays fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import ModificationLevel, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

logger = logging.getLogger(__name__)

CA_KEY = "ca.key.pem"
CA_CERT = "ca.cert.pem"
AGENCIES_DIR = "agencies"
CA_NAME = "HanoiSmart Development Root CA (NOT FOR PRODUCTION)"
KEY_SIZE = 2048
CA_YEARS = 20
AGENCY_YEARS = 5
_SAFE_CODE = re.compile(r"[^A-Za-z0-9._-]")

_cache_lock = threading.Lock()
_signers: dict[tuple[str, str, str], Any] = {}
_roots: dict[tuple[str, str, tuple[str, ...]], list[asn1_x509.Certificate]] = {}


@dataclass(frozen=True)
class SignatureCheck:
    """What a verifier needs to know about a PDF's signature: is there one, is it intact (the signed bytes
    unchanged) and valid (cryptographically), is its certificate trusted, who signed and when, and whether
    anything was added to the file after signing."""

    is_signed: bool
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    signer_name: str = ""
    signer_code: str = ""
    signed_at: dt.datetime | None = None
    modified_after_signing: bool = False
    signature_count: int = 0
    problem: str = ""

    @property
    def is_ok(self) -> bool:
        """Signed, intact, valid, trusted and not modified afterwards: the paper is what the agency signed."""
        return (
            self.is_signed and self.intact and self.valid and self.trusted and not self.modified_after_signing
        )


def signing_cache_clear() -> None:
    """Forget loaded signers and trust roots (tests switch SIGNING_DIR)."""
    with _cache_lock:
        _signers.clear()
        _roots.clear()


# --- the development CA ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock across processes on ``directory`` (the key material is created once)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, mode)
    temporary.replace(path)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _development_ca(directory: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The development root CA under ``directory``, made on first use (caller holds the lock)."""
    key_path, cert_path = directory / CA_KEY, directory / CA_CERT
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())  # type: ignore[return-value]
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HanoiSmart (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_atomically(key_path, _key_pem(key), mode=0o600)
    _write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
    logger.warning(
        "Made a development signing CA under %s: not for production (docs/documents.md).", directory
    )
    return key, certificate


def _agency_file_stem(code: str) -> str:
    return _SAFE_CODE.sub("_", code) or "agency"


def _development_agency_files(directory: Path, agency: Any) -> tuple[Path, Path]:
    """The agency's key and certificate issued by the development CA, made on first use."""
    stem = _agency_file_stem(agency.code)
    key_path = directory / AGENCIES_DIR / f"{stem}.key.pem"
    cert_path = directory / AGENCIES_DIR / f"{stem}.cert.pem"
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    with _directory_lock(directory):
        if key_path.exists() and cert_path.exists():
            return key_path, cert_path
        ca_key, ca_cert = _development_ca(directory)
        (directory / AGENCIES_DIR).mkdir(exist_ok=True, mode=0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency.name[:64]),
                x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, agency.code[:64]),
                x509.NameAttribute(NameOID.COMMON_NAME, agency.name[:64]),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365 * AGENCY_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CODE_SIGNING]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_atomically(key_path, _key_pem(key), mode=0o600)
        _write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return key_path, cert_path


# --- signers and trust roots -------------------------------------------------------------------------------


def _load_signer(agency: Any) -> Any:
    mode = settings.SIGNING_MODE
    directory = Path(settings.SIGNING_DIR)
    if mode == "development":
        key_path, cert_path = _development_agency_files(directory, agency)
        return signers.SimpleSigner.load(
            str(key_path), str(cert_path), ca_chain_files=(str(directory / CA_CERT),)
        )
    if mode == "files":
        stem = _agency_file_stem(agency.code)
        key_path, cert_path = directory / f"{stem}.key.pem", directory / f"{stem}.cert.pem"
        chain_path = directory / f"{stem}.chain.pem"
        if not key_path.exists() or not cert_path.exists():
            raise ImproperlyConfigured(
                f"No signing key for agency {agency.code}: expected {key_path} and {cert_path}."
            )
        chain = (str(chain_path),) if chain_path.exists() else ()
        return signers.SimpleSigner.load(str(key_path), str(cert_path), ca_chain_files=chain)
    return _pkcs11_signer(agency)


def _pkcs11_signer(agency: Any) -> Any:  # pragma: no cover - needs an HSM and python-pkcs11
    try:
        from pyhanko.sign import pkcs11
    except ImportError as exc:
        raise ImproperlyConfigured("SIGNING_MODE=pkcs11 needs the python-pkcs11 package.") from exc
    session = pkcs11.open_pkcs11_session(
        settings.SIGNING_PKCS11_MODULE,
        token_label=settings.SIGNING_PKCS11_TOKEN_LABEL,
        user_pin=settings.SIGNING_PKCS11_PIN,
    )
    return pkcs11.PKCS11Signer(session, cert_label=agency.code, key_label=agency.code)


def signer_for(agency: Any) -> Any:
    """The pyHanko signer of ``agency`` (loaded once per process, made first in development mode)."""
    cache_key = (settings.SIGNING_MODE, str(settings.SIGNING_DIR), agency.code)
    with _cache_lock:
        signer = _signers.get(cache_key)
        if signer is None:
            signer = _signers[cache_key] = _load_signer(agency)
    return signer


def trust_roots() -> list[asn1_x509.Certificate]:
    """The CA certificates /verify trusts: ``SIGNING_TRUST_ROOTS``, or the development CA (made if absent)."""
    files = tuple(settings.SIGNING_TRUST_ROOTS)
    cache_key = (settings.SIGNING_MODE, str(settings.SIGNING_DIR), files)
    with _cache_lock:
        roots = _roots.get(cache_key)
        if roots is None:
            if files:
                paths = list(files)
            elif settings.SIGNING_MODE == "development":
                directory = Path(settings.SIGNING_DIR)
                if not (directory / CA_CERT).exists():
                    with _directory_lock(directory):
                        _development_ca(directory)
                paths = [str(directory / CA_CERT)]
            else:
                raise ImproperlyConfigured("SIGNING_TRUST_ROOTS must name the CA certificates to trust.")
            roots = _roots[cache_key] = list(signers.load_certs_from_pemder(paths))
    return roots


# --- signing and verifying ---------------------------------------------------------------------------------


def sign_pdf(*, pdf: bytes, agency: Any, reason: str = "", location: str = "Hà Nội") -> bytes:
    """``pdf`` with a PAdES (B-B) signature of ``agency`` over the whole file."""
    metadata = signers.PdfSignatureMetadata(
        field_name="Signature",
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=agency.name,
        reason=reason or None,
        location=location or None,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    output = signers.PdfSigner(metadata, signer=signer_for(agency)).sign_pdf(writer)
    return output.getvalue()


def _subject_attribute(certificate: asn1_x509.Certificate, name: str) -> str:
    value = certificate.subject.native.get(name, "")
    return value[0] if isinstance(value, list) else str(value or "")


def verify_pdf(pdf: bytes) -> SignatureCheck:
    """Check the signature(s) embedded in ``pdf`` against the trust roots. Never raises on bad input: a file
    that is not a PDF, or a damaged one, is reported as unsigned or not intact."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # any parse failure means "not a readable signed PDF"
        return SignatureCheck(is_signed=False, problem=f"unreadable: {exc.__class__.__name__}")
    if not embedded:
        return SignatureCheck(is_signed=False, problem="no signature")
    context = ValidationContext(
        trust_roots=trust_roots(),
        other_certs=SimpleCertificateStore(),
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    # The first signature is the issuer's; later ones (none today) could only be counter-signatures.
    signature = embedded[0]
    try:
        status = validate_pdf_signature(signature, context)
    except Exception as exc:  # a damaged signature container is "not intact", not a 500
        return SignatureCheck(
            is_signed=True, signature_count=len(embedded), problem=f"damaged: {exc.__class__.__name__}"
        )
    certificate = status.signing_cert
    modified = status.coverage != SignatureCoverageLevel.ENTIRE_FILE and status.modification_level not in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
    )
    return SignatureCheck(
        is_signed=True,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        signer_name=_subject_attribute(certificate, "common_name") if certificate else "",
        signer_code=_subject_attribute(certificate, "organization_identifier") if certificate else "",
        signed_at=status.signer_reported_dt,
        modified_after_signing=modified,
        signature_count=len(embedded),
        problem="" if status.bottom_line else "untrusted or invalid",
    )
