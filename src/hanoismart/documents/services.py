"""Every write to the document store: issuing signed results, digitising and uploading papers, recording
reuse, revoking and superseding, sharing. Each checks who acts, runs in a transaction and audits (the subject
is the document's owner). Government-issued documents are never editable by their owner."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connections, router, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_event_build, audit_events_record, audit_record
from hanoismart.common.errors import InvalidInput, NotAuthenticated, PermissionDenied
from hanoismart.documents.files import content_type_of, detect_type, file_digest, upload_check
from hanoismart.documents.models import Document, DocumentFile, DocumentShare, DocumentStatus, Provenance
from hanoismart.documents.pdf import render_pdf
from hanoismart.documents.permissions import DocumentPermission, position_for, positions_with
from hanoismart.documents.selectors import documents_of, share_by_token, share_token_digest
from hanoismart.documents.signing import sign_pdf
from hanoismart.documents.verification import verification_url
from hanoismart.identity.selectors.organisations import acting_as
from hanoismart.notifications.services import message_send

TITLE_MAX = 500
_EDITABLE_FIELDS = ("title", "number", "issuer_name", "issued_on", "valid_until")


def _require_person(actor: Any) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise NotAuthenticated(_("Sign in to use your document store."))


def _one_owner(owner_user: Any, owner_organisation: Any) -> None:
    if (owner_user is None) == (owner_organisation is None):
        raise InvalidInput(_("A document belongs to exactly one person or one organisation."), code="owner")


def _owner_of(document: Document) -> Any:
    return document.owner_user


def _is_owner(actor: Any, document: Document) -> bool:
    if document.owner_user_id is not None:
        return document.owner_user_id == actor.pk
    return document.owner_organisation is not None and acting_as(actor, document.owner_organisation)


def _clean_text(value: str, *, field: str, label: str, required: bool = False, max_length: int = 300) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise InvalidInput(_("%(field)s is required.") % {"field": label}, details={field: [_("Required.")]})
    if len(text) > max_length:
        message = _("%(field)s is too long (at most %(count)d characters).") % {
            "field": label,
            "count": max_length,
        }
        raise InvalidInput(message, details={field: [message]})
    return text


def _store_file(
    document: Document, *, data: bytes | None = None, upload: Any = None, name: str, signed: bool
) -> DocumentFile:
    """Write a file of ``document`` under a random name (the original name is only shown, never a path)."""
    if upload is not None:
        sha256, size = file_digest(upload)
        extension = detect_type(upload) or "bin"
        content = upload
    else:
        data = data or b""
        content = ContentFile(data)
        sha256, size = hashlib.sha256(data).hexdigest(), len(data)
        extension = "pdf"
    stored = DocumentFile(
        document=document,
        name=name[:255],
        content_type=content_type_of(extension),
        size=size,
        sha256=sha256,
        is_signed_pdf=signed,
    )
    stored.file.save(f"{uuid.uuid4().hex}.{extension}", content, save=False)
    stored.save()
    return stored


def _display_name(upload: Any, fallback: str) -> str:
    name = str(getattr(upload, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(char for char in name if char.isprintable())[:255] or fallback


# --- results -----------------------------------------------------------------------------------------------


def _result_pdf(
    *,
    public_id: uuid.UUID,
    agency: Any,
    title: str,
    type_name: str,
    number: str,
    issued_on: dt.date,
    valid_until: dt.date | None,
    printed: dict[str, str],
    paragraphs: Sequence[str],
    dossier_code: str,
    procedure_code: str,
) -> bytes:
    """The result's PDF, signed by ``agency``. Printed in Vietnamese whatever the actor's language: it is a
    legal paper of the Vietnamese administration."""
    url = verification_url(public_id=public_id, dossier_code=dossier_code, procedure_code=procedure_code)
    with translation.override("vi"):
        fields: list[tuple[str, str]] = []
        if number:
            fields.append((_("Number"), number))
        fields.append((_("Issued on"), f"{issued_on:%d/%m/%Y}"))
        fields += [(str(label), str(value)) for label, value in printed.items()]
        if valid_until:
            fields.append((_("Valid until"), f"{valid_until:%d/%m/%Y}"))
        if dossier_code:
            fields.append((_("Dossier code"), dossier_code))
        if procedure_code:
            fields.append((_("Procedure code"), procedure_code))
        footer = _(
            "Electronically signed by %(agency)s. Scan the QR code or open %(url)s to check this document."
        ) % {"agency": agency.name, "url": url}
        pdf = render_pdf(
            title=title,
            subtitle=type_name if type_name and type_name != title else "",
            issuer=agency.name,
            fields=fields,
            paragraphs=list(paragraphs),
            qr_payload=url,
            footer=footer,
        )
        return sign_pdf(
            pdf=pdf, agency=agency, reason=_("Result of dossier %(code)s") % {"code": dossier_code}
        )


def document_issue_result(
    *,
    actor: Any,
    agency: Any,
    owner_user: Any = None,
    owner_organisation: Any = None,
    dossier_code: str,
    procedure_code: str,
    type_code: str,
    type_name: str,
    title: str,
    number: str,
    printed: dict[str, str],
    paragraphs: Sequence[str] = (),
    issued_on: dt.date | None = None,
    valid_until: dt.date | None = None,
    supersedes: Document | None = None,
) -> Document:
    """Issue a dossier's result into its owner's store: render the PDF (QR top left with the verification URL,
    dossier and procedure codes), PAdES-sign it with ``agency``'s key, store it (provenance: result). Needs a
    leader's position in ``agency``. Idempotent: the same agency, dossier and type give back the valid result
    already issued (a retried "sign" makes no second paper)."""
    _require_person(actor)
    if (
        position_for(actor, DocumentPermission.DOCUMENT_ISSUE, agency_id=agency.pk) is None
        and not actor.is_superuser
    ):
        raise PermissionDenied(
            _("Only a leader of %(agency)s may issue its results.") % {"agency": agency.name}
        )
    _one_owner(owner_user, owner_organisation)
    title = _clean_text(title, field="title", label=_("Title"), required=True, max_length=TITLE_MAX)
    type_code = _clean_text(
        type_code, field="type_code", label=_("Document type"), required=True, max_length=40
    )
    if supersedes is not None and supersedes.status != DocumentStatus.VALID:
        raise InvalidInput(_("Only a valid document can be superseded."), code="not_valid")
    existing = Document.objects.filter(
        issuer_agency=agency,
        source_dossier_code=dossier_code,
        type_code=type_code,
        provenance=Provenance.RESULT,
        status=DocumentStatus.VALID,
    ).first()
    if existing is not None and dossier_code and supersedes is None:
        return existing
    issued_on = issued_on or timezone.localdate()
    printed = {str(key): str(value) for key, value in (printed or {}).items()}
    public_id = uuid.uuid4()
    # Rendering and signing take a fraction of a second: done before the transaction, so no lock is held.
    signed = _result_pdf(
        public_id=public_id,
        agency=agency,
        title=title,
        type_name=type_name,
        number=number,
        issued_on=issued_on,
        valid_until=valid_until,
        printed=printed,
        paragraphs=paragraphs,
        dossier_code=dossier_code,
        procedure_code=procedure_code,
    )
    with transaction.atomic():
        document = Document.objects.create(
            public_id=public_id,
            type_code=type_code,
            type_name=type_name,
            title=title,
            issuer_name=agency.name,
            issuer_agency=agency,
            number=number,
            issued_on=issued_on,
            valid_until=valid_until,
            owner_user=owner_user,
            owner_organisation=owner_organisation,
            provenance=Provenance.RESULT,
            source_dossier_code=dossier_code,
            source_procedure_code=procedure_code,
            printed=printed,
            is_signed=True,
        )
        name = f"{type_code}-{number or dossier_code or public_id.hex[:8]}.pdf".replace("/", "-")
        _store_file(document, data=signed, name=name, signed=True)
        audit_record(
            actor=actor,
            action="documents.result_issued",
            obj=document,
            subject=owner_user,
            details={"dossier_code": dossier_code, "procedure_code": procedure_code, "agency": agency.code},
        )
        if supersedes is not None:
            _supersede(actor=actor, document=supersedes, replacement=document, reason="")
    return document


# --- digitised and uploaded papers -------------------------------------------------------------------------


def document_digitise(
    *,
    actor: Any,
    owner_user: Any = None,
    owner_organisation: Any = None,
    type_code: str,
    type_name: str,
    title: str,
    upload: Any,
    number: str = "",
    issuer_name: str = "",
    issued_on: dt.date | None = None,
    dossier_code: str = "",
) -> Document:
    """A clerk stores the scan of an original paper the owner presented at the desk (provenance: digitised;
    read-only to the owner). Needs a clerk's, officer's or leader's position."""
    _require_person(actor)
    position = position_for(actor, DocumentPermission.DOCUMENT_DIGITISE, agency_id=None)
    if position is None:
        raise PermissionDenied(_("Only one-stop desk staff may digitise papers."))
    _one_owner(owner_user, owner_organisation)
    title = _clean_text(title, field="title", label=_("Title"), required=True, max_length=TITLE_MAX)
    type_code = _clean_text(
        type_code, field="type_code", label=_("Document type"), required=True, max_length=40
    )
    upload_check(upload)
    with transaction.atomic():
        document = Document.objects.create(
            type_code=type_code,
            type_name=_clean_text(type_name, field="type_name", label=_("Document type")),
            title=title,
            issuer_name=_clean_text(issuer_name, field="issuer_name", label=_("Issuer")),
            number=_clean_text(number, field="number", label=_("Number"), max_length=100),
            issued_on=issued_on,
            owner_user=owner_user,
            owner_organisation=owner_organisation,
            provenance=Provenance.DIGITISED,
            source_dossier_code=dossier_code,
        )
        _store_file(document, upload=upload, name=_display_name(upload, title), signed=False)
        audit_record(
            actor=actor,
            action="documents.digitised",
            obj=document,
            subject=owner_user,
            unit_code=position.agency.unit.code,
            actor_role=position.role,
            details={"dossier_code": dossier_code, "agency": position.agency.code},
        )
    return document


def document_upload(
    *,
    actor: Any,
    type_code: str,
    type_name: str,
    title: str,
    upload: Any,
    number: str = "",
    issuer_name: str = "",
    issued_on: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> Document:
    """The owner adds a paper of their own (provenance: uploaded, not verified). PDF, JPEG or PNG."""
    _require_person(actor)
    title = _clean_text(title, field="title", label=_("Title"), required=True, max_length=TITLE_MAX)
    type_code = _clean_text(type_code, field="type_code", label=_("Document type"), max_length=40) or "other"
    if issued_on and valid_until and valid_until < issued_on:
        message = _("The end of validity cannot be before the issue date.")
        raise InvalidInput(message, details={"valid_until": [message]})
    upload_check(upload)
    with transaction.atomic():
        document = Document.objects.create(
            type_code=type_code,
            type_name=_clean_text(type_name, field="type_name", label=_("Document type")),
            title=title,
            issuer_name=_clean_text(issuer_name, field="issuer_name", label=_("Issuer")),
            number=_clean_text(number, field="number", label=_("Number"), max_length=100),
            issued_on=issued_on,
            valid_until=valid_until,
            owner_user=actor,
            provenance=Provenance.UPLOADED,
        )
        _store_file(document, upload=upload, name=_display_name(upload, title), signed=False)
        audit_record(actor=actor, action="documents.uploaded", obj=document, subject=actor)
    return document


def document_update(*, actor: Any, document: Document, **changes: Any) -> Document:
    """The owner corrects the details of a paper they uploaded (title, number, issuer, dates). Refused for
    government-issued documents (results, digitised papers): they stay as issued."""
    _require_person(actor)
    if not _is_owner(actor, document):
        raise PermissionDenied(_("This document is not yours."))
    if document.is_government_issued:
        raise PermissionDenied(
            _("This document was issued by an agency and cannot be changed."), code="government_issued"
        )
    unknown = set(changes) - set(_EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(
            _("These details cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    if "title" in changes:
        changes["title"] = _clean_text(
            changes["title"], field="title", label=_("Title"), required=True, max_length=TITLE_MAX
        )
    for field, label, length in (("number", _("Number"), 100), ("issuer_name", _("Issuer"), 300)):
        if field in changes:
            changes[field] = _clean_text(changes[field], field=field, label=label, max_length=length)
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        before = {field: str(getattr(locked, field)) for field in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action="documents.updated",
            obj=locked,
            subject=actor,
            details={"before": before, "after": {field: str(value) for field, value in changes.items()}},
        )
    return locked


def document_reuse_record(*, actor: Any, document: Document, dossier_code: str) -> None:
    """Count one reuse of ``document`` for a dossier (the owner picked it instead of uploading again)."""
    documents_reuse_record(actor=actor, documents=[document], dossier_code=dossier_code)
    document.refresh_from_db(fields=["reuse_count"])


@functools.lru_cache(maxsize=32)
def _reuse_count_sql(alias: str, count: int) -> str:
    quote = connections[alias].ops.quote_name
    table, reuse_count, pk = (
        quote(name)
        for name in (
            Document._meta.db_table,
            Document._meta.get_field("reuse_count").column,
            Document._meta.pk.column,
        )
    )
    return "UPDATE {0} SET {1} = {0}.{1} + 1 WHERE {2} IN ({3})".format(  # noqa: S608 - names from _meta
        table, reuse_count, pk, ", ".join(["%s"] * count)
    )


def documents_reuse_record(
    *,
    actor: Any,
    documents: Sequence[Document],
    dossier_code: str,
    audit_events: list[AuditEvent] | None = None,
    updates: list[tuple[str, list[Any]]] | None = None,
) -> None:
    """Count the reuse of each of ``documents`` for one dossier: the owner's valid documents only (else
    nothing is counted), each distinct document once, with one UPDATE for them all and an audit event each.
    The instances' ``reuse_count`` is left as read (the database adds to its own value). With
    ``audit_events``, the events are added to that list instead of written: the caller writes them with its
    own, in the same transaction (a filing's whole audit trail in one INSERT). With ``updates`` (and
    ``audit_events``), the UPDATE is added to it as (SQL, values) instead of run: the caller runs it in its
    transaction, with its own writes (a filing's, on PostgreSQL, in one statement)."""
    _require_person(actor)
    distinct = list({document.pk: document for document in documents}.values())
    for document in distinct:
        if not _is_owner(actor, document):
            raise PermissionDenied(_("This document is not yours."))
        if document.status != DocumentStatus.VALID:
            raise InvalidInput(_("This document is no longer valid and cannot be used."), code="not_valid")
    if not distinct:
        return
    if updates is not None and audit_events is None:
        raise ValueError("The caller that runs the UPDATE writes the audit events too: pass audit_events.")
    alias = router.db_for_write(Document)
    update = (_reuse_count_sql(alias, len(distinct)), [document.pk for document in distinct])
    # savepoint=False: inside a filing this is one more statement of its transaction, not a savepoint.
    with transaction.atomic(using=alias, savepoint=False):
        if updates is None:
            with connections[alias].cursor() as cursor:
                cursor.execute(*update)
        else:
            updates.append(update)
        # An audit event per document, written in one INSERT (here, or by the caller).
        events = [
            audit_event_build(
                actor=actor,
                action="documents.reused",
                obj=document,
                # the owner: the actor themselves for a personal document (no query), else its owner
                subject=actor if document.owner_user_id == actor.pk else _owner_of(document),
                details={"dossier_code": dossier_code},
            )
            for document in distinct
        ]
        if audit_events is None:
            audit_events_record(events)
        else:
            audit_events.extend(events)


# --- revoking and superseding ------------------------------------------------------------------------------


def _revoker_position(actor: Any, document: Document) -> Any:
    """A leader of the issuing agency, or an operator (the only ones for papers no agency here issued)."""
    _require_person(actor)
    if actor.is_superuser:
        return None
    if document.issuer_agency_id is not None:
        position = position_for(
            actor, DocumentPermission.DOCUMENT_REVOKE, agency_id=document.issuer_agency_id
        )
    else:
        position = next(iter(positions_with(actor, DocumentPermission.DOCUMENT_REVOKE_ANY)), None)
    if position is None:
        raise PermissionDenied(_("Only the issuing agency's leader or an operator may do this."))
    return position


def _supersede(*, actor: Any, document: Document, replacement: Document, reason: str) -> None:
    updated = Document.objects.filter(pk=document.pk, status=DocumentStatus.VALID).update(
        status=DocumentStatus.SUPERSEDED,
        superseded_by=replacement,
        status_reason=reason,
        updated_at=timezone.now(),
    )
    if not updated:
        raise InvalidInput(_("Only a valid document can be superseded."), code="not_valid")
    audit_record(
        actor=actor,
        action="documents.superseded",
        obj=document,
        subject=_owner_of(document),
        details={"replacement": str(replacement.public_id), "reason": reason},
    )
    document.refresh_from_db(fields=["status", "superseded_by", "status_reason"])


def document_revoke(*, actor: Any, document: Document, reason: str) -> Document:
    """Revoke a government-issued document (issued by mistake, annulled): /verify says so from now on and
    the owner is told. Needs a leader of the issuing agency or an operator, and a reason."""
    _revoker_position(actor, document)
    reason = _clean_text(reason, field="reason", label=_("Reason"), required=True, max_length=500)
    if not document.is_government_issued:
        raise InvalidInput(_("Only government-issued documents can be revoked."), code="not_issued")
    with transaction.atomic():
        updated = Document.objects.filter(pk=document.pk, status=DocumentStatus.VALID).update(
            status=DocumentStatus.REVOKED, status_reason=reason, updated_at=timezone.now()
        )
        if not updated:
            raise InvalidInput(_("This document is no longer valid."), code="not_valid")
        audit_record(
            actor=actor,
            action="documents.revoked",
            obj=document,
            subject=_owner_of(document),
            details={"reason": reason},
        )
        document.refresh_from_db(fields=["status", "status_reason"])
        owner = _owner_of(document)
        if owner is not None:
            context = {
                "title": document.title,
                "issuer": document.issuer_name,
                "reason": reason,
                "document_url": settings.SITE_URL.rstrip("/")
                + reverse("documents:detail", kwargs={"public_id": document.public_id}),
            }
            transaction.on_commit(
                lambda: message_send(
                    recipient=owner,
                    template="documents.revoked",
                    context=context,
                    channels=["in_app", "sms"],
                    dedupe_key=f"documents.revoked:{document.public_id}",
                )
            )
    return document


def document_supersede(
    *, actor: Any, document: Document, replacement: Document, reason: str = ""
) -> Document:
    """Mark ``document`` as replaced by ``replacement`` (a corrected or renewed paper of the same owner);
    /verify then links to the replacement."""
    _revoker_position(actor, document)
    if replacement.pk == document.pk or (
        replacement.owner_user_id != document.owner_user_id
        or replacement.owner_organisation_id != document.owner_organisation_id
    ):
        raise InvalidInput(
            _("The replacement must be another document of the same owner."), code="replacement"
        )
    if replacement.status != DocumentStatus.VALID:
        raise InvalidInput(_("The replacement must be valid."), code="replacement")
    with transaction.atomic():
        _supersede(
            actor=actor,
            document=document,
            replacement=replacement,
            reason=_clean_text(reason, field="reason", label=_("Reason"), max_length=500),
        )
    return document


# --- sharing -----------------------------------------------------------------------------------------------


def document_share_create(*, actor: Any, document: Document, days: int) -> tuple[DocumentShare, str]:
    """The owner makes a link that shows ``document`` to whoever holds it, for ``days`` days (1 to
    DOCUMENT_SHARE_MAX_DAYS). Returns the share and its token, which is shown once and stored only hashed."""
    _require_person(actor)
    if not _is_owner(actor, document):
        raise PermissionDenied(_("This document is not yours."))
    maximum = settings.DOCUMENT_SHARE_MAX_DAYS
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= maximum:
        message = _("Choose between 1 and %(max)d days.") % {"max": maximum}
        raise InvalidInput(message, details={"days": [message]})
    if document.status != DocumentStatus.VALID:
        raise InvalidInput(_("This document is no longer valid and cannot be shared."), code="not_valid")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        share = DocumentShare.objects.create(
            document=document,
            token_digest=share_token_digest(token),
            created_by=actor,
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        audit_record(
            actor=actor,
            action="documents.shared",
            obj=document,
            subject=_owner_of(document),
            details={"share": str(share.public_id), "days": days},
        )
    return share, token


def document_share_revoke(*, actor: Any, share: DocumentShare) -> None:
    """The owner ends a shared link at once."""
    _require_person(actor)
    if not documents_of(actor=actor).filter(pk=share.document_id).exists():
        raise PermissionDenied(_("This document is not yours."))
    with transaction.atomic():
        DocumentShare.objects.filter(pk=share.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(
            actor=actor,
            action="documents.share_revoked",
            obj=share.document,
            subject=_owner_of(share.document),
            details={"share": str(share.public_id)},
        )


def document_share_open(*, token: str, ip: str | None = None) -> DocumentShare:
    """Someone opens a shared link: counted and audited (who saw the owner's paper, from where)."""
    share = share_by_token(token=token)
    with transaction.atomic():
        DocumentShare.objects.filter(pk=share.pk).update(view_count=F("view_count") + 1)
        audit_record(
            actor=None,
            action="documents.share_opened",
            obj=share.document,
            subject=_owner_of(share.document),
            ip=ip,
            details={"share": str(share.public_id)},
        )
    return share
