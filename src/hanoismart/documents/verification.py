"""What /verify shows, for the page and the API alike: a document's status and the facts printed on it, and
the check of an uploaded PDF's signature. Nothing personal beyond the document's ``printed`` fields."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput
from hanoismart.documents.files import upload_check
from hanoismart.documents.models import Document, DocumentStatus
from hanoismart.documents.selectors import document_by_file_digest, document_main_file
from hanoismart.documents.signing import SignatureCheck, verify_pdf

# A signed result is a few hundred kilobytes; a larger "PDF" sent to a public endpoint is refused unread.
MAX_VERIFY_BYTES = 20 * 1024 * 1024


def verification_path(public_id: Any) -> str:
    return reverse("documents:verify_document", kwargs={"public_id": public_id})


def verification_url(*, public_id: Any, dossier_code: str = "", procedure_code: str = "") -> str:
    """The URL printed in a result's QR code: the public /verify page, with dossier and procedure codes."""
    query = {key: value for key, value in (("d", dossier_code), ("p", procedure_code)) if value}
    url = settings.SITE_URL.rstrip("/") + verification_path(public_id)
    return f"{url}?{urlencode(query)}" if query else url


def signature_view(check: SignatureCheck) -> dict[str, Any]:
    """A signature check as plain data (the API's ``signature`` object)."""
    return {
        "is_signed": check.is_signed,
        "is_valid": check.is_ok,
        "intact": check.intact,
        "trusted": check.trusted,
        "modified_after_signing": check.modified_after_signing,
        "signer": check.signer_name,
        "signer_code": check.signer_code,
        "signed_at": check.signed_at,
    }


def document_public_view(document: Document, *, with_signature: bool = True) -> dict[str, Any]:
    """The public facts of a government-issued document: status, issuer, type, number, dates, dossier and
    procedure codes and the printed fields; the stored signed PDF's signature checked now."""
    superseded_by = document.superseded_by if document.status == DocumentStatus.SUPERSEDED else None
    view: dict[str, Any] = {
        "public_id": document.public_id,
        "status": document.status,
        "status_label": str(DocumentStatus(document.status).label),
        "status_reason": document.status_reason if document.status != DocumentStatus.VALID else "",
        "superseded_by": superseded_by.public_id if superseded_by else None,
        "issuer": document.issuer_agency.name if document.issuer_agency else document.issuer_name,
        "issuer_code": document.issuer_agency.code if document.issuer_agency else "",
        "type_code": document.type_code,
        "type_name": document.type_name,
        "title": document.title,
        "number": document.number,
        "issued_on": document.issued_on,
        "valid_until": document.valid_until,
        "dossier_code": document.source_dossier_code,
        "procedure_code": document.source_procedure_code,
        "provenance": document.provenance,
        "printed": {str(key): str(value) for key, value in (document.printed or {}).items()},
        "signature": None,
    }
    if with_signature and document.is_signed:
        file = document_main_file(document=document)
        if file is not None and file.is_signed_pdf:
            with file.file.open("rb") as handle:
                view["signature"] = signature_view(verify_pdf(handle.read()))
    return view


def uploaded_pdf_check(upload: Any) -> dict[str, Any]:
    """Check an uploaded PDF: its signature, and, when it is a result issued here, the document's status.
    Refuses a file that is not a PDF (InvalidInput, a 400 with a message)."""
    if upload is not None and getattr(upload, "size", 0) > MAX_VERIFY_BYTES:
        raise InvalidInput(_("The file is too large to check."), code="file_rejected")
    upload_check(upload, accepted_types=["pdf"])
    upload.seek(0)
    data = upload.read()
    check = verify_pdf(data)
    document = document_by_file_digest(sha256=hashlib.sha256(data).hexdigest())
    return {
        "signature": signature_view(check),
        "document": document_public_view(document, with_signature=False) if document else None,
    }
