"""Filing a dossier: online by the applicant (``dossier_submit``) or at the one-stop desk by a clerk
(``dossier_register_at_desk``). Both validate the form and the papers, settle the agency and the fees,
allocate the code, and are idempotent per (filer, Idempotency-Key)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import AgencyKind
from hanoismart.directory.selectors import agency_committee_of
from hanoismart.documents.files import upload_check
from hanoismart.documents.selectors import documents_for_papers
from hanoismart.documents.services import documents_reuse_record
from hanoismart.dossiers import deadlines
from hanoismart.dossiers.models import (
    ComponentSource,
    DeliveryMethod,
    Dossier,
    DossierComponent,
    FilingChannel,
    Payment,
    PaymentState,
    PaymentStatus,
)
from hanoismart.dossiers.permissions import DossierPermission, positions_with
from hanoismart.dossiers.services import base, rollups
from hanoismart.dossiers.services.codes import dossier_insert_coded
from hanoismart.procedures.models import Case, Level
from hanoismart.procedures.models import DossierStatus as Status
from hanoismart.procedures.selectors import fee_for
from hanoismart.procedures.services import form_data_validate

IDEMPOTENCY_KEY_MAX = 100


@dataclass
class ComponentInput:
    """How one catalog paper is satisfied: an uploaded file, a document of the store, or (at the desk) the
    paper original only."""

    component_id: int
    upload: UploadedFile | None = None
    document_public_id: uuid.UUID | str | None = None
    paper_only: bool = False


@dataclass
class _Paper:
    component: Any
    source: str
    upload: UploadedFile | None = None
    document: Any = None


def _existing(actor: Any, idempotency_key: str) -> Dossier | None:
    if not idempotency_key:
        return None
    # No select_related: this runs on every keyed filing and finds nothing but for a retry; joins would
    # cost each filing more to build than a retry's few lazy reads cost it.
    return Dossier.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()


def _check_key(idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(
            _("The Idempotency-Key is longer than %(max)d characters.") % {"max": IDEMPOTENCY_KEY_MAX},
            code="idempotency_key_too_long",
        )
    return key


def _check_case(case: Case) -> None:
    if not case.procedure.is_active:
        raise InvalidInput(_("This procedure is no longer offered."), code="procedure_inactive")


def _delivery(delivery_method: str, delivery_address: str) -> tuple[str, str]:
    if delivery_method not in DeliveryMethod.values:
        raise InvalidInput(_("Choose how the result is delivered."), code="delivery_invalid")
    address = (delivery_address or "").strip()
    if delivery_method == DeliveryMethod.POST and not address:
        raise InvalidInput(
            _("Give the address the result should be posted to."),
            code="delivery_address_missing",
            details={"delivery_address": [_("This field is required.")]},
        )
    return delivery_method, address[:300]


def _online_agency(*, actor: Any, case: Case, unit: Any) -> Any:
    procedure = case.procedure
    if procedure.level == Level.WARD_COMMUNE:
        unit_id = unit.pk if unit is not None else actor.ward_id
        if unit_id is None:
            raise InvalidInput(_("Choose the ward or commune to file with."), code="unit_missing")
        if unit_id != actor.ward_id and not procedure.may_file_outside_ward:
            raise InvalidInput(
                _("This procedure is filed with the ward or commune where you live."), code="outside_ward"
            )
        agency = agency_committee_of(unit_id)  # with its unit, the dossier's, in the same query
    else:
        agency = procedure.agency if procedure.agency and procedure.agency.is_active else None
    if agency is None:
        raise InvalidInput(_("No agency accepts this procedure here yet."), code="no_agency")
    return agency


def _public_id(value: uuid.UUID | str) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _stored_documents(
    *, actor: Any, catalog: dict[int, Any], given: list[ComponentInput]
) -> dict[uuid.UUID, Any]:
    """The actor's documents picked for the papers, by public id, read in one query (valid, unexpired, of a
    type one of the papers takes); each paper then checks the type it needs."""
    wanted: set[uuid.UUID] = set()
    type_codes: set[str] = set()
    for item in given:
        component = catalog.get(item.component_id)
        if item.upload is None and item.document_public_id and component and component.document_type_code:
            public_id = _public_id(item.document_public_id)
            if public_id is not None:
                wanted.add(public_id)
                type_codes.add(component.document_type_code)
    if not wanted:
        return {}
    found = documents_for_papers(actor=actor, public_ids=wanted, type_codes=type_codes)
    return {document.public_id: document for document in found}


def _papers(
    *, actor: Any, case: Case, components: list[ComponentInput], at_desk: bool, require_mandatory: bool = True
) -> list[_Paper]:
    """Check every paper and that each mandatory one is there; InvalidInput names the ones that are not."""
    catalog = {component.pk: component for component in case.components.all()}
    given_papers = list(components or [])
    stored = {} if at_desk else _stored_documents(actor=actor, catalog=catalog, given=given_papers)
    papers: list[_Paper] = []
    errors: dict[str, list[str]] = {}
    for given in given_papers:
        component = catalog.get(given.component_id)
        if component is None:
            raise InvalidInput(_("A paper does not belong to this case."), code="component_unknown")
        key = f"component_{component.pk}"
        if given.upload is not None:
            try:
                upload_check(given.upload, accepted_types=component.accepted_file_types or None)
            except InvalidInput as exc:
                errors.setdefault(key, []).append(str(exc.message))
                continue
            source = ComponentSource.DIGITISED
            papers.append(_Paper(component=component, source=source, upload=given.upload))
        elif given.document_public_id:
            document = None
            if not at_desk and component.document_type_code:
                document = stored.get(_public_id(given.document_public_id))
                if document is not None and document.type_code != component.document_type_code:
                    document = None
            if document is None:
                errors.setdefault(key, []).append(
                    _("This document is not in your store, has expired, or is not what this paper needs.")
                )
                continue
            source = (
                ComponentSource.REUSED_RESULT if document.provenance == "result" else ComponentSource.REUSED
            )
            papers.append(_Paper(component=component, source=source, document=document))
        elif given.paper_only and at_desk:
            papers.append(_Paper(component=component, source=ComponentSource.NOT_DIGITISED))
    satisfied = {paper.component.pk for paper in papers}
    for component in catalog.values():
        if require_mandatory and component.is_mandatory and component.pk not in satisfied:
            errors.setdefault(f"component_{component.pk}", []).append(
                _("%(name)s is required.") % {"name": component.name}
            )
    if errors:
        raise InvalidInput(
            _("Some papers are missing or not accepted."), code="components_invalid", details=errors
        )
    return papers


def _fees(dossier: Dossier, *, channel: str) -> None:
    quote = fee_for(case=dossier.case, channel=channel, on_date=timezone.localdate())
    dossier.fee_applicant = quote.resident_pays
    dossier.fee_city = quote.city_pays
    dossier.fee_total = quote.resident_pays + quote.city_pays
    if dossier.fee_applicant:
        dossier.payment_status = PaymentStatus.DUE
    elif dossier.fee_city:
        dossier.payment_status = PaymentStatus.CITY_PAID
    elif quote.lines:
        dossier.payment_status = PaymentStatus.WAIVED
    else:
        dossier.payment_status = PaymentStatus.NONE


def _city_payment(dossier: Dossier) -> None:
    """Fees the city pays on the applicant's behalf are recorded as paid by the city at once."""
    if dossier.fee_city:
        Payment.objects.create(
            dossier=dossier,
            amount=dossier.fee_city,
            payer="city",
            state=PaymentState.PAID,
            gateway="city",
            receipt_number=f"TP-{dossier.code}",
            paid_at=base.now(),
        )
        rollups.payment_paid(dossier)


def _save_papers(
    dossier: Dossier,
    papers: list[_Paper],
    *,
    actor: Any,
    supplement: bool = False,
    audit_events: list[Any] | None = None,
    rows_also: list[base.Rows] | None = None,
) -> list[DossierComponent]:
    """Write the papers in one INSERT (an upload's file is stored first), count the reuse of the store's
    documents in one UPDATE, and add them to the roll-ups. Returns the rows. With ``audit_events`` and
    ``rows_also`` the reuse's audit events and the two statements are handed to the caller, which writes
    them with its own (``base.record``: on PostgreSQL in one statement); else they are written here."""
    rows = []
    for paper in papers:
        row = DossierComponent(
            dossier=dossier,
            component=paper.component,
            name=paper.component.name,
            source=paper.source,
            document=paper.document,
            is_supplement=supplement,
        )
        if paper.upload is not None:
            digest = hashlib.sha256()
            for chunk in paper.upload.chunks():
                digest.update(chunk)
            paper.upload.seek(0)
            row.sha256 = digest.hexdigest()
            row.size = paper.upload.size or 0
            row.file_name = (paper.upload.name or "")[:255]
            row.content_type = (getattr(paper.upload, "content_type", "") or "")[:100]
            row.file.save(paper.upload.name or "paper", paper.upload, save=False)
        rows.append(row)
    parts = base.rows_insert(DossierComponent, rows)
    reused = [paper.document for paper in papers if paper.document is not None]
    if reused:
        updates: list[tuple[str, list[Any]]] = []
        documents_reuse_record(
            actor=actor,
            documents=reused,
            dossier_code=dossier.code,
            audit_events=audit_events,
            updates=updates if rows_also is not None else None,
        )
        parts += [base.Rows(sql=sql, params=params) for sql, params in updates]
    if rows_also is None:
        base.rows_write(parts)
    else:
        rows_also.extend(parts)
    rollups.components_added(dossier, sources=[paper.source for paper in papers])
    return rows


def _remember_papers(dossier: Dossier, rows: list[DossierComponent]) -> None:
    """Let ``dossier.components.all()`` answer from the rows just written, as Django's prefetch cache does,
    so the filing's answer (API) reads none of them back."""
    queryset = dossier.components.all()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    dossier._prefetched_objects_cache = {"components": queryset}


def _create(dossier: Dossier, *, actor: Any, papers: list[_Paper], idempotency_key: str, build) -> Dossier:
    """Allocate the code and write the dossier, its papers and its trace in one transaction (a savepoint
    when the caller has one); a retry with the same key (after the first, or at the same time) fails on the
    unique constraint at the dossier's INSERT, before any file is stored, and gets the first one's dossier.
    On PostgreSQL that is two statements: the code with the dossier, then (the papers' files stored) the
    papers, the reuse count, the event, the audit events and the portal message (``base.record``)."""
    try:
        with transaction.atomic():
            dossier_insert_coded(dossier, on_date=timezone.localtime(dossier.submitted_at).date())
            rollups.track_new(dossier)
            audit_events: list[Any] = []  # the reuse's, written with the dossier's own in one INSERT
            rows_also: list[base.Rows] = []  # the papers and the reuse count, written with the trace
            rows = _save_papers(dossier, papers, actor=actor, audit_events=audit_events, rows_also=rows_also)
            _city_payment(dossier)
            build(dossier, audit_events, rows_also)
    except IntegrityError:
        existing = _existing(actor, idempotency_key)
        if existing is None:
            raise
        return existing
    _remember_papers(dossier, rows)
    return dossier


def dossier_submit(
    *,
    actor: Any,
    case: Case,
    form_data: dict[str, Any],
    components: list[ComponentInput],
    unit: Any = None,
    delivery_method: str = DeliveryMethod.COLLECT,
    delivery_address: str = "",
    applicant_organisation: Any = None,
    idempotency_key: str = "",
) -> Dossier:
    """File a dossier online (status 1, submitted). Ward-level procedures go to the People's Committee of
    ``unit`` (default the actor's ward; another ward only where the procedure allows it); city-level ones to
    the procedure's agency. A retry with the same ``idempotency_key`` returns the dossier already filed.

    The retry is found when it happens rather than looked for on every filing: a filing checks and builds
    the dossier, and its INSERT meets the (filer, key) unique constraint, before any paper's file is stored,
    when the key was used; a retry whose input no longer passes the checks gets the dossier too."""
    base.require_signed_in(actor)
    key = _check_key(idempotency_key)
    try:
        dossier, papers = _online_dossier(
            actor=actor,
            case=case,
            form_data=form_data,
            components=components,
            unit=unit,
            delivery_method=delivery_method,
            delivery_address=delivery_address,
            applicant_organisation=applicant_organisation,
            idempotency_key=key,
        )
    except (InvalidInput, PermissionDenied):
        existing = _existing(actor, key)
        if existing is not None:
            return existing
        raise

    def build(saved: Dossier, audit_also: list[Any], rows_also: list[base.Rows]) -> None:
        acting = base.Acting(user=actor, role="applicant", label=str(actor))
        base.record(
            saved,
            acting=acting,
            action="submit",
            from_status="",
            details={"channel": saved.channel},
            audit_also=audit_also,
            rows_also=rows_also,
        )

    return _create(dossier, actor=actor, papers=papers, idempotency_key=key, build=build)


def _online_dossier(
    *,
    actor: Any,
    case: Case,
    form_data: dict[str, Any],
    components: list[ComponentInput],
    unit: Any,
    delivery_method: str,
    delivery_address: str,
    applicant_organisation: Any,
    idempotency_key: str,
) -> tuple[Dossier, list[_Paper]]:
    """The checks of an online filing, and the dossier they allow (not saved) with its papers."""
    _check_case(case)
    if applicant_organisation is not None:
        from hanoismart.identity.selectors.organisations import acting_as

        if not acting_as(actor, applicant_organisation):
            raise PermissionDenied(_("You cannot file for this organisation."))
    form_data_validate(case=case, data=form_data)
    method, address = _delivery(delivery_method, delivery_address)
    agency = _online_agency(actor=actor, case=case, unit=unit)
    papers = _papers(actor=actor, case=case, components=components, at_desk=False)
    steps = list(case.steps.all())
    moment = base.now()
    dossier = Dossier(
        procedure=case.procedure,
        case=case,
        agency=agency,
        unit=agency.unit,
        applicant=actor,
        applicant_organisation=applicant_organisation,
        applicant_name=applicant_organisation.name if applicant_organisation else actor.full_name,
        applicant_national_id=actor.national_id,
        applicant_phone=actor.phone or "",
        applicant_email=actor.email or "",
        channel=FilingChannel.ONLINE,
        is_fully_online=case.procedure.online_level == "full",
        status=Status.SUBMITTED,
        step=steps[0] if steps else None,
        form_data=form_data,
        delivery_method=method,
        delivery_address=address,
        submitted_at=moment,
        created_by=actor,
        idempotency_key=idempotency_key,
    )
    if steps:
        dossier.step_due_at = deadlines.step_due_at(
            base.calendar(), started_at=moment, working_hours=steps[0].working_hours
        )
    _fees(dossier, channel="online")
    return dossier, papers


def _desk_agency(*, actor: Any, case: Case) -> Any:
    positions = positions_with(actor, DossierPermission.DOSSIER_REGISTER)
    procedure = case.procedure
    for position in positions:
        agency = position.agency
        if procedure.level == Level.WARD_COMMUNE and agency.kind == AgencyKind.PEOPLES_COMMITTEE:
            return agency
        if procedure.level != Level.WARD_COMMUNE and procedure.agency_id == agency.pk:
            return agency
    if actor.is_superuser:
        return procedure.agency
    raise PermissionDenied(_("Your desk does not receive this procedure."))


def dossier_register_at_desk(
    *,
    actor: Any,
    case: Case,
    channel: str,
    applicant_national_id: str,
    applicant_name: str,
    applicant_phone: str,
    applicant_email: str = "",
    applicant_address: str = "",
    form_data: dict[str, Any],
    components: list[ComponentInput],
    delivery_method: str = DeliveryMethod.COLLECT,
    delivery_address: str = "",
    idempotency_key: str = "",
) -> Dossier:
    """A clerk registers a paper dossier brought in person or by post: it is received at once (status 2,
    due date set, receipt available). The applicant's account, if they have one, becomes the applicant, so
    the result lands in their store."""
    from hanoismart.common.validators import validate_national_id
    from hanoismart.identity.models import User

    base.require_signed_in(actor)
    key = _check_key(idempotency_key)
    existing = _existing(actor, key)
    if existing is not None:
        return existing
    if channel not in (FilingChannel.IN_PERSON, FilingChannel.POST):
        raise InvalidInput(
            _("A desk registers dossiers brought in person or by post."), code="channel_invalid"
        )
    _check_case(case)
    agency = _desk_agency(actor=actor, case=case)
    errors: dict[str, list[str]] = {}
    try:
        validate_national_id(applicant_national_id)
    except Exception as exc:  # a Django ValidationError: reported as the field's error
        errors["applicant_national_id"] = list(getattr(exc, "messages", [str(exc)]))
    if not (applicant_name or "").strip():
        errors["applicant_name"] = [_("This field is required.")]
    if errors:
        raise InvalidInput(
            _("The applicant's details have errors."), code="applicant_invalid", details=errors
        )
    form_data_validate(case=case, data=form_data)
    method, address = _delivery(delivery_method, delivery_address)
    papers = _papers(actor=actor, case=case, components=components, at_desk=True)
    applicant = User.objects.filter(national_id=applicant_national_id, is_active=True).first()
    steps = list(case.steps.all())
    moment = base.now()
    calendar = base.calendar()
    amount, unit = deadlines.processing_budget(case=case, channel=channel)
    received = calendar.next_working_moment(moment)
    dossier = Dossier(
        procedure=case.procedure,
        case=case,
        agency=agency,
        unit=agency.unit,
        applicant=applicant,
        applicant_name=applicant_name.strip()[:200],
        applicant_national_id=applicant_national_id,
        applicant_phone=(applicant_phone or "").strip()[:20],
        applicant_email=(applicant_email or "").strip(),
        applicant_address=(applicant_address or "").strip()[:300],
        channel=channel,
        is_fully_online=False,
        status=Status.RECEIVED,
        step=steps[1] if len(steps) > 1 else None,
        form_data=form_data,
        delivery_method=method,
        delivery_address=address,
        submitted_at=moment,
        received_at=moment,
        due_at=deadlines.due_at(calendar, received_at=received, amount=amount, unit=unit),
        created_by=actor,
        idempotency_key=key,
    )
    if dossier.step is not None:
        dossier.step_due_at = deadlines.step_due_at(
            calendar, started_at=received, working_hours=dossier.step.working_hours
        )
    _fees(dossier, channel="counter")
    acting = base.acting_as_staff(actor, dossier, DossierPermission.DOSSIER_REGISTER)

    def build(saved: Dossier, audit_also: list[Any], rows_also: list[base.Rows]) -> None:
        base.record(
            saved,
            acting=acting,
            action="register",
            from_status="",
            details={"channel": channel},
            audit_also=audit_also,
            rows_also=rows_also,
        )

    return _create(dossier, actor=actor, papers=papers, idempotency_key=key, build=build)
