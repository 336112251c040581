"""Reads of the document store, scoped to the actor: an owner sees their own documents and those of the
organisations they act for; the public sees only what /verify may show."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.errors import NotFound
from hanoismart.common.queries import CompiledQuery, Param
from hanoismart.documents.models import Document, DocumentFile, DocumentShare, DocumentStatus
from hanoismart.identity.selectors.organisations import organisations_of


def _uuid_or_none(value: uuid.UUID | str | None) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _not_found() -> NotFound:
    return NotFound(_("No such document in your store."))


def documents_of(*, actor: Any) -> QuerySet[Document]:
    """The actor's own store: their documents and those of the organisations they act for, newest first."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return Document.objects.none()
    # The organisations as a subquery: one query for the store, not one more to list them first.
    owned = Q(owner_user=actor) | Q(owner_organisation_id__in=organisations_of(actor).values("pk"))
    return Document.objects.filter(owned).select_related("issuer_agency", "owner_organisation")


def documents_matching(*, actor: Any, type_code: str | Collection[str]) -> QuerySet[Document]:
    """The actor's documents of ``type_code`` (or of any of several codes, for a whole dossier's papers in
    one query) that can satisfy a dossier component: valid and unexpired."""
    today = timezone.localdate()
    of_type = Q(type_code=type_code) if isinstance(type_code, str) else Q(type_code__in=list(type_code))
    return documents_of(actor=actor).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
        of_type,
        status=DocumentStatus.VALID,
    )


def documents_for_papers(
    *, actor: Any, public_ids: Collection[uuid.UUID], type_codes: Collection[str]
) -> list[Document]:
    """The documents among ``public_ids`` that ``documents_matching(actor=actor, type_code=type_codes)``
    would give, without its relations, for a filing's papers: one plain query by public id (what a filing
    runs on every submission; the store's own query, with its OR and subquery, costs several times more to
    build), the owner and the expiry checked here; the organisations the actor acts for are read only when
    an organisation's document was picked."""
    if actor is None or not actor.is_authenticated or not actor.is_active or not public_ids:
        return []
    today = timezone.localdate()
    found = [
        document
        for document in _PAPERS.instances(public_ids=list(public_ids), type_codes=list(type_codes))
        if document.valid_until is None or document.valid_until >= today
    ]
    organisation_ids = {
        document.owner_organisation_id
        for document in found
        if document.owner_user_id != actor.pk and document.owner_organisation_id is not None
    }
    if organisation_ids:
        organisation_ids &= set(
            organisations_of(actor).filter(pk__in=organisation_ids).values_list("pk", flat=True)
        )
    return [
        document
        for document in found
        if (document.owner_user_id is not None and document.owner_user_id == actor.pk)
        or (document.owner_organisation_id is not None and document.owner_organisation_id in organisation_ids)
    ]


# A filing's documents by public id, compiled once (``documents_for_papers``).
_PAPERS = CompiledQuery(
    lambda public_ids, type_codes: Document.objects.filter(
        public_id__in=public_ids, type_code__in=type_codes, status=DocumentStatus.VALID
    ).order_by(),
    public_ids=Param(
        Document._meta.get_field("public_id"), lambda i: uuid.UUID(int=0x5107_0000 + i), many=True
    ),
    type_codes=Param(Document._meta.get_field("type_code"), lambda i: f"type-code-slot-{i}", many=True),
)


def document_owned_by(*, actor: Any, public_id: uuid.UUID | str) -> Document:
    """One document of the actor's store; NotFound for an unknown one or another owner's (never 403: a
    guessed id must not reveal that a document exists)."""
    identifier = _uuid_or_none(public_id)
    if identifier is None:
        raise _not_found()
    document = documents_of(actor=actor).filter(public_id=identifier).first()
    if document is None:
        raise _not_found()
    return document


def document_main_file(*, document: Document) -> DocumentFile | None:
    """The file a download gives: the signed PDF if there is one, else the first file."""
    files = list(document.files.all())
    signed = [file for file in files if file.is_signed_pdf]
    return (signed or files or [None])[0]


def document_for_verification(*, public_id: uuid.UUID | str) -> Document:
    """The government-issued document /verify shows (an owner's own uploads are never public)."""
    identifier = _uuid_or_none(public_id)
    document = (
        Document.objects.select_related("issuer_agency", "superseded_by")
        .exclude(provenance="uploaded")
        .filter(public_id=identifier)
        .first()
        if identifier
        else None
    )
    if document is None:
        raise NotFound(_("No document with this identifier was issued through HanoiSmart."))
    return document


def document_by_file_digest(*, sha256: str) -> Document | None:
    """The government-issued document whose signed PDF has this SHA-256, if it was issued here."""
    file = (
        DocumentFile.objects.select_related("document__issuer_agency", "document__superseded_by")
        .filter(sha256=sha256, is_signed_pdf=True)
        .exclude(document__provenance="uploaded")
        .first()
    )
    return file.document if file else None


def document_shares(*, actor: Any, document: Document) -> QuerySet[DocumentShare]:
    """The links the owner has shared for ``document`` that still work (not expired, not revoked)."""
    return DocumentShare.objects.filter(
        document=document,
        document__in=documents_of(actor=actor),
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("expires_at", "pk")


def share_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_by_token(*, token: str) -> DocumentShare:
    """The live share behind ``token``; NotFound when unknown, expired or revoked (one answer for all)."""
    share = (
        DocumentShare.objects.select_related("document__issuer_agency")
        .filter(
            token_digest=share_token_digest(token or ""),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if share is None:
        raise NotFound(_("This link does not exist or has expired."))
    return share
