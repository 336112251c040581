import stat
import threading
from types import SimpleNamespace

from hanoismart.documents import signing
from hanoismart.documents.pdf import render_pdf
from hanoismart.documents.signing import sign_pdf, verify_pdf

AGENCY = SimpleNamespace(code="000.70.01.H26", name="UBND Phường Hoàn Kiếm")


def _pdf() -> bytes:
    return render_pdf(title="Giấy khai sinh", issuer=AGENCY.name, fields=[("Số", "1")], qr_payload="x")


def test_a_signed_pdf_verifies_and_names_the_agency():
    check = verify_pdf(sign_pdf(pdf=_pdf(), agency=AGENCY))

    assert check.is_ok
    assert (check.intact, check.valid, check.trusted, check.modified_after_signing) == (
        True,
        True,
        True,
        False,
    )
    assert check.signer_name == "UBND Phường Hoàn Kiếm"
    assert check.signer_code == "000.70.01.H26"
    assert check.signed_at is not None
    assert check.signature_count == 1


def test_a_byte_flipped_after_signing_breaks_the_signature():
    signed = bytearray(sign_pdf(pdf=_pdf(), agency=AGENCY))
    signed[len(signed) // 3] ^= 0x01

    check = verify_pdf(bytes(signed))

    assert check.is_signed
    assert not check.intact
    assert not check.is_ok


def test_content_appended_after_signing_is_reported():
    from io import BytesIO

    from pyhanko.pdf_utils.generic import NameObject, TextStringObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(sign_pdf(pdf=_pdf(), agency=AGENCY)))
    writer.root["/Lang"] = TextStringObject("en")
    writer.root["/PageMode"] = NameObject("/UseOutlines")
    writer.update_root()
    output = BytesIO()
    writer.write(output)

    check = verify_pdf(output.getvalue())

    assert check.intact
    assert check.modified_after_signing
    assert not check.is_ok


def test_unsigned_and_non_pdf_files_are_not_signed():
    assert verify_pdf(_pdf()).is_signed is False
    assert verify_pdf(b"MZ\x90\x00 not a pdf").is_signed is False


def test_a_signature_from_another_ca_is_not_trusted(settings, tmp_path):
    settings.SIGNING_DIR = tmp_path / "other-ca"
    signing.signing_cache_clear()
    foreign = sign_pdf(pdf=_pdf(), agency=AGENCY)
    settings.SIGNING_DIR = tmp_path / "our-ca"
    signing.signing_cache_clear()

    check = verify_pdf(foreign)

    assert check.intact
    assert not check.trusted
    assert not check.is_ok


def test_keys_are_private_and_made_once_under_concurrency(settings, tmp_path):
    settings.SIGNING_DIR = tmp_path / "fresh"
    agency = SimpleNamespace(code="000.04.01.H26", name="UBND Phường Ba Đình")
    results = []

    def make():
        results.append(signing._development_agency_files(settings.SIGNING_DIR, agency))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    key_path, _cert_path = results[0]
    assert len({(key.read_bytes(), cert.read_bytes()) for key, cert in results}) == 1
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((settings.SIGNING_DIR / signing.CA_KEY).stat().st_mode) == 0o600
    assert sorted(path.name for path in (settings.SIGNING_DIR / "agencies").iterdir()) == [
        "000.04.01.H26.cert.pem",
        "000.04.01.H26.key.pem",
    ]
