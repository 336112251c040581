"""The document store's API: the caller's own documents (session, or a bearer token with ``documents.read``)
and the public verification of a document or of an uploaded PDF (no authentication; nothing personal beyond
what is printed on the document)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field as SchemaField
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from hanoismart.common.errors import NotFound
from hanoismart.common.pagination import PageNumber
from hanoismart.documents.models import Document
from hanoismart.documents.selectors import (
    document_for_verification,
    document_main_file,
    document_owned_by,
    documents_of,
)
from hanoismart.documents.verification import document_public_view, uploaded_pdf_check
from hanoismart.identity.api_auth import token_or_session

router = Router(tags=["documents"])
_READ = token_or_session("documents.read")


class DocumentOut(Schema):
    id: uuid.UUID = SchemaField(..., description="The document's public identifier.")
    type_code: str = SchemaField(..., description="National document-type code, e.g. CCCD.")
    type_name: str
    title: str
    issuer: str
    issuer_code: str = SchemaField(..., description="The issuing agency's electronic code, if issued here.")
    number: str
    issued_on: dt.date | None
    valid_until: dt.date | None
    provenance: str = SchemaField(..., description="result, digitised or uploaded (not verified).")
    status: str = SchemaField(..., description="valid, revoked or superseded.")
    is_government_issued: bool
    is_signed: bool
    reuse_count: int
    dossier_code: str
    procedure_code: str

    @staticmethod
    def resolve_id(document: Document) -> uuid.UUID:
        return document.public_id

    @staticmethod
    def resolve_issuer(document: Document) -> str:
        return document.issuer_name

    @staticmethod
    def resolve_issuer_code(document: Document) -> str:
        return document.issuer_agency.code if document.issuer_agency else ""

    @staticmethod
    def resolve_dossier_code(document: Document) -> str:
        return document.source_dossier_code

    @staticmethod
    def resolve_procedure_code(document: Document) -> str:
        return document.source_procedure_code


class FileOut(Schema):
    name: str
    content_type: str
    size: int
    sha256: str
    is_signed_pdf: bool


class DocumentDetailOut(DocumentOut):
    status_reason: str
    superseded_by: uuid.UUID | None
    printed: dict[str, str]
    files: list[FileOut]

    @staticmethod
    def resolve_superseded_by(document: Document) -> uuid.UUID | None:
        return document.superseded_by.public_id if document.superseded_by_id else None

    @staticmethod
    def resolve_files(document: Document) -> list[Any]:
        return list(document.files.all())


class SignatureOut(Schema):
    is_signed: bool
    is_valid: bool = SchemaField(..., description="Signed, intact, trusted and not modified after signing.")
    intact: bool
    trusted: bool
    modified_after_signing: bool
    signer: str
    signer_code: str
    signed_at: dt.datetime | None


class VerificationOut(Schema):
    id: uuid.UUID
    status: str
    status_label: str
    status_reason: str
    superseded_by: uuid.UUID | None
    issuer: str
    issuer_code: str
    type_code: str
    type_name: str
    title: str
    number: str
    issued_on: dt.date | None
    valid_until: dt.date | None
    dossier_code: str
    procedure_code: str
    printed: dict[str, str] = SchemaField(..., description="The fields printed on the document, as printed.")
    signature: SignatureOut | None

    @staticmethod
    def resolve_id(view: dict[str, Any]) -> uuid.UUID:
        return view["public_id"]


class PdfCheckOut(Schema):
    signature: SignatureOut
    document: VerificationOut | None = SchemaField(
        ..., description="The document, when the PDF is a result issued through HanoiSmart."
    )


@router.get("/documents", response=list[DocumentOut], auth=_READ, summary="Your documents")
@paginate(PageNumber)
def list_documents(request: HttpRequest) -> Any:
    """The caller's document store, newest first."""
    return documents_of(actor=request.user)


@router.get("/documents/{public_id}", response=DocumentDetailOut, auth=_READ, summary="One of your documents")
def get_document(request: HttpRequest, public_id: uuid.UUID) -> Any:
    """One document of the caller's store, with its printed fields and files (404 for anyone else's)."""
    return document_owned_by(actor=request.user, public_id=public_id)


@router.get("/documents/{public_id}/file", auth=_READ, summary="Download a document's file")
def get_document_file(request: HttpRequest, public_id: uuid.UUID) -> Any:
    """The signed PDF of a result (else the first file); 404 for anyone else's document."""
    document = document_owned_by(actor=request.user, public_id=public_id)
    file = document_main_file(document=document)
    if file is None:
        raise NotFound(_("This document has no file."))
    response = FileResponse(
        file.file.open("rb"), as_attachment=True, filename=file.name, content_type=file.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/verify/{public_id}", response=VerificationOut, auth=None, summary="Verify a document")
def verify_document(request: HttpRequest, public_id: uuid.UUID) -> Any:
    """Public: a government-issued document's status (valid, revoked, superseded), issuer, type, number,
    dates, dossier and procedure codes, printed fields, and its stored PDF's signature checked now."""
    return document_public_view(document_for_verification(public_id=public_id))


@router.post("/verify", response=PdfCheckOut, auth=None, summary="Check a signed PDF")
def verify_pdf_upload(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Public: the signature of an uploaded PDF (multipart field ``file``), and, when it is a result issued
    here, the document's status. A file that is not a PDF is refused with 400."""
    return uploaded_pdf_check(file)
