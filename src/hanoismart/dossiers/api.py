"""The dossiers API: file a dossier (Idempotency-Key), list mine or my desk's queue, read one and its
timeline, act on it, and the public lookup by code and phone. A session or a bearer token with
``dossiers.read`` (reads) or ``dossiers.write`` (filing and actions)."""

import base64
import binascii
import datetime as dt
import uuid
from typing import Any, Literal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from hanoismart.common.errors import InvalidInput, NotFound
from hanoismart.common.pagination import PageNumber
from hanoismart.directory.selectors import unit_by_code
from hanoismart.dossiers import selectors, services
from hanoismart.dossiers.models import DeliveryMethod, Dossier, DossierComponent, DossierEvent
from hanoismart.identity.api_auth import token_or_session
from hanoismart.procedures.selectors import case_for_filing

router = Router(tags=["dossiers"])

READ = token_or_session("dossiers.read")
WRITE = token_or_session("dossiers.write")
MAX_BASE64_BYTES = 14 * 1024 * 1024


class ComponentIn(Schema):
    component_id: int = Field(..., description="Id of the case's paper (GET /api/v1/procedures/{code}).")
    document_id: uuid.UUID | None = Field(None, description="A document of your store that satisfies it.")
    file_name: str = Field("", max_length=200)
    content_base64: str = Field("", description="The file's bytes in base64 (PDF, JPEG or PNG).")


class DossierIn(Schema):
    procedure: str = Field(..., pattern=r"^\d\.\d{6}$", description="National procedure code.")
    case: str = Field(..., max_length=40, description="The case's code.")
    form_data: dict[str, Any] = Field(default_factory=dict)
    components: list[ComponentIn] = Field(default_factory=list, max_length=50)
    ward: str = Field("", pattern=r"^[0-9]{0,10}$", description="Unit code of the ward (default: yours).")
    delivery_method: Literal["collect", "post", "online"] = DeliveryMethod.COLLECT
    delivery_address: str = Field("", max_length=300)


class DossierOut(Schema):
    code: str
    status: str
    status_label: str
    procedure_code: str
    procedure_name: str
    case_code: str
    agency_code: str
    agency_name: str
    channel: str
    submitted_at: dt.datetime
    received_at: dt.datetime | None
    due_at: dt.datetime | None
    finished_at: dt.datetime | None
    returned_at: dt.datetime | None
    timeliness: str
    payment_status: str
    fee_total: int
    fee_applicant: int
    delivery_method: str

    @staticmethod
    def resolve_status_label(dossier: Dossier) -> str:
        return str(dossier.get_status_display())

    @staticmethod
    def resolve_procedure_code(dossier: Dossier) -> str:
        return dossier.procedure.national_code

    @staticmethod
    def resolve_procedure_name(dossier: Dossier) -> str:
        return dossier.procedure.name

    @staticmethod
    def resolve_case_code(dossier: Dossier) -> str:
        return dossier.case.code

    @staticmethod
    def resolve_agency_code(dossier: Dossier) -> str:
        return dossier.agency.code

    @staticmethod
    def resolve_agency_name(dossier: Dossier) -> str:
        return dossier.agency.name


class PaperOut(Schema):
    name: str
    source: str
    is_supplement: bool
    document_id: uuid.UUID | None = None


class DossierDetailOut(DossierOut):
    applicant_name: str
    form_data: dict[str, Any]
    step: str
    step_due_at: dt.datetime | None
    result_document_id: uuid.UUID | None
    papers: list[PaperOut]
    actions: list[str] = Field(..., description="What you may do now (POST …/actions/{action}).")

    @staticmethod
    def resolve_step(dossier: Dossier) -> str:
        return dossier.step.name if dossier.step_id else ""

    @staticmethod
    def resolve_result_document_id(dossier: Dossier) -> uuid.UUID | None:
        return dossier.result_document.public_id if dossier.result_document_id else None

    @staticmethod
    def resolve_papers(dossier: Dossier) -> list[dict[str, Any]]:
        # _detail prefetched them with their documents (a filing hands over the rows it wrote)
        return [
            {
                "name": paper.name,
                "source": paper.source,
                "is_supplement": paper.is_supplement,
                "document_id": paper.document.public_id if paper.document_id else None,
            }
            for paper in dossier.components.all()
        ]

    @staticmethod
    def resolve_actions(dossier: Dossier) -> list[str]:
        return dossier.api_actions


class EventOut(Schema):
    at: dt.datetime
    action: str
    by: str
    role: str
    from_status: str
    to_status: str
    step: str
    note: str


class ListFilters(Schema):
    status: str = Field("", pattern=r"^(10|[1-9])?$", description="National status code, 1 to 10.")
    queue: Literal["", "to_receive", "due_soon", "overdue", "supplement", "to_sign", "to_return", "mine"] = ""


class ActionIn(Schema):
    note: str = Field("", max_length=4000)
    items: list[str] = Field(default_factory=list, max_length=50)
    assignee: uuid.UUID | None = Field(None, description="Public id of the officer (assign).")
    new_due_at: dt.datetime | None = Field(None, description="The new date for the result (apologise).")
    amount: int | None = Field(None, ge=1, description="Amount to pay in VND (request_payment).")
    scores: dict[str, int] = Field(default_factory=dict, description="The nine criteria, 0 to 2 (rate).")
    overall: str = ""
    comment: str = Field("", max_length=2000)
    components: list[ComponentIn] = Field(default_factory=list, max_length=50)


class LookupOut(Schema):
    code: str
    status: str
    status_label: str
    procedure: str
    agency: str
    submitted_at: dt.datetime
    received_at: dt.datetime | None
    due_at: dt.datetime | None
    returned_at: dt.datetime | None


class ErrorOut(Schema):
    code: str
    detail: str


def _detail(request: HttpRequest, dossier: Dossier) -> DossierDetailOut:
    """``DossierDetailOut`` of the dossier with its papers and what the caller may do now. Papers already in
    hand (a filing's) are not read again. Built from the schema's own resolvers without validation (Ninja
    answers a schema instance as is): every value already has its field's type, so the answer is the one
    validation would give (a test compares the two)."""
    prefetch_related_objects(
        [dossier], Prefetch("components", queryset=DossierComponent.objects.select_related("document"))
    )
    dossier.api_actions = selectors.dossier_actions_for(actor=request.user, dossier=dossier)
    values = {
        name: resolver(dossier) if (resolver := _DETAIL_RESOLVERS.get(name)) else getattr(dossier, name)
        for name in DossierDetailOut.model_fields
    }
    values["papers"] = [PaperOut.model_construct(**paper) for paper in values["papers"]]
    return DossierDetailOut.model_construct(**values)


# field name -> the schema's resolver for it (the fields without one are the dossier's attributes)
_DETAIL_RESOLVERS = {
    name: getattr(DossierDetailOut, f"resolve_{name}")
    for name in DossierDetailOut.model_fields
    if hasattr(DossierDetailOut, f"resolve_{name}")
}


def _components(items: list[ComponentIn]) -> list[services.ComponentInput]:
    inputs = []
    for item in items:
        upload = None
        if item.content_base64:
            if len(item.content_base64) > MAX_BASE64_BYTES:
                raise InvalidInput(_("The file is too large."), code="file_rejected")
            try:
                content = base64.b64decode(item.content_base64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidInput(_("A file's content is not valid base64."), code="file_rejected") from exc
            upload = SimpleUploadedFile(item.file_name or f"paper-{item.component_id}", content)
        inputs.append(
            services.ComponentInput(
                component_id=item.component_id, upload=upload, document_public_id=item.document_id
            )
        )
    return inputs


@router.post(
    "/dossiers",
    response={201: DossierDetailOut},
    auth=WRITE,
    summary="File a dossier online",
    description="Send the header Idempotency-Key: a retry with the same key returns the same dossier.",
)
def dossier_create(request: HttpRequest, payload: DossierIn):
    # The catalog rows the filing needs, from the process's copy checked against the database.
    case = case_for_filing(procedure_code=payload.procedure, case_code=payload.case)
    if case is None:
        raise NotFound(_("No procedure case has this code."))
    unit = unit_by_code(payload.ward) if payload.ward else None
    dossier = services.dossier_submit(
        actor=request.user,
        case=case,
        form_data=payload.form_data,
        components=_components(payload.components),
        unit=unit,
        delivery_method=payload.delivery_method,
        delivery_address=payload.delivery_address,
        idempotency_key=request.headers.get("Idempotency-Key", ""),
    )
    # The dossier in hand is the caller's own (filed now, or by this caller with this key): answered as is,
    # without reading it back through dossier_for.
    return Status(201, _detail(request, dossier))


@router.get("/dossiers", response=list[DossierOut], auth=READ, summary="My dossiers, or my desk's queue")
@paginate(PageNumber)
def dossier_list(request: HttpRequest, filters: Query[ListFilters]):
    return selectors.dossier_list_for(
        actor=request.user, filters={"status": filters.status, "queue": filters.queue}
    ).select_related("procedure", "case", "agency")


@router.get(
    "/dossiers/lookup",
    response={200: LookupOut, 404: ErrorOut},
    auth=None,
    summary="Public lookup by dossier code and the applicant's phone",
)
def dossier_lookup(
    request: HttpRequest,
    code: str = Query(..., max_length=60),
    phone: str = Query(..., max_length=20),
):
    found = selectors.dossier_public_status(code=code, phone=phone)
    if found is None:
        raise NotFound(_("No dossier matches this code and phone number."))
    return found


@router.get("/dossiers/{code}", response=DossierDetailOut, auth=READ, summary="One dossier")
def dossier_get(request: HttpRequest, code: str):
    return _detail(request, selectors.dossier_for(actor=request.user, code=code))


@router.get("/dossiers/{code}/events", response=list[EventOut], auth=READ, summary="A dossier's timeline")
def dossier_events(request: HttpRequest, code: str):
    dossier = selectors.dossier_for(actor=request.user, code=code)
    return [_event(event) for event in selectors.dossier_timeline(dossier=dossier)]


def _event(event: DossierEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "action": event.action,
        "by": event.actor_label,
        "role": event.actor_role,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "step": event.step_name,
        "note": event.note,
    }


@router.post(
    "/dossiers/{code}/actions/{action}",
    response=DossierDetailOut,
    auth=WRITE,
    summary="Act on a dossier (receive, forward, sign, return, supplement, pay, rate…)",
)
def dossier_action(request: HttpRequest, code: str, action: str, payload: ActionIn):
    dossier = selectors.dossier_for(actor=request.user, code=code)
    arguments: dict[str, Any] = {}
    if payload.items:
        arguments["items"] = payload.items
    if payload.assignee is not None:
        from hanoismart.identity.models import User

        assignee = User.objects.filter(public_id=payload.assignee, is_active=True).first()
        if assignee is None:
            raise InvalidInput(_("No such person."), code="assignee_invalid")
        arguments["assignee"] = assignee
    if payload.new_due_at is not None:
        arguments["new_due_at"] = payload.new_due_at
    if payload.amount is not None:
        arguments["amount"] = payload.amount
    if action == "rate":
        arguments.update(scores=payload.scores, overall=payload.overall, comment=payload.comment)
    if payload.components:
        arguments["components"] = _components(payload.components)
    dossier = services.dossier_act(
        actor=request.user, dossier=dossier, action=action, note=payload.note, **arguments
    )
    return _detail(request, dossier)
