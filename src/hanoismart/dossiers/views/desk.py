"""The one-stop desk: queues with counts and filters, bulk receive, one dossier with the actions the staff
member may take now, and registering a paper dossier brought to the desk.

Every page needs a staff member with a dossier role and a confirmed second factor; what they see is what
the selectors scope to the agencies they serve.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hanoismart.common.errors import ApplicationError, InvalidInput, NotFound, PermissionDenied
from hanoismart.dossiers import selectors, services
from hanoismart.dossiers.forms import ApplicationForm, DeliveryForm, DeskApplicantForm, profile_values
from hanoismart.dossiers.models import Dossier, FilingChannel
from hanoismart.dossiers.permissions import ROLE_PERMISSIONS, DossierPermission, positions_with
from hanoismart.dossiers.views._shared import (
    CODE_PATTERN,
    MAX_SUPPLEMENT_ITEMS,
    SOURCE_DOCUMENT,
    SOURCE_PAPER,
    SOURCE_UPLOAD,
    STATUS_BADGE,
    component_inputs,
    dossier_or_error,
    idempotency_key_from,
    paper_choices,
    paper_response,
    service_problem,
    timeline,
    vnd,
)
from hanoismart.identity.selectors.staff import people_search, positions_in_agency
from hanoismart.procedures.models import NATIONAL_CODE_PATTERN, DossierStatus
from hanoismart.procedures.selectors import procedure_detail, procedure_search

QUEUE_LABELS = {
    "to_receive": gettext_lazy("To receive"),
    "due_soon": gettext_lazy("Due soon"),
    "overdue": gettext_lazy("Overdue"),
    "supplement": gettext_lazy("Waiting for a supplement"),
    "to_sign": gettext_lazy("To sign"),
    "to_return": gettext_lazy("To return"),
    "mine": gettext_lazy("Mine"),
}
DESK_PER_PAGE = 25
BULK_MAX = 100
QUERY_MAX_LENGTH = 100

#: The actions of the desk page, in the order their buttons appear, and what each one says when done.
ACTION_DONE = {
    "receive": gettext_lazy("The dossier was received; the receipt is ready."),
    "refuse": gettext_lazy("The dossier was not received; the applicant was told why."),
    "assign": gettext_lazy("The dossier was handed to %(name)s."),
    "forward": gettext_lazy("The dossier went on to the next step."),
    "request_supplement": gettext_lazy("The applicant was asked for a supplement; the clock is paused."),
    "request_payment": gettext_lazy("The applicant was asked to pay."),
    "approve": gettext_lazy("The dossier was approved."),
    "sign": gettext_lazy("The result was signed and put in the applicant's document store."),
    "stop": gettext_lazy("Processing was stopped; the applicant was told why."),
    "apologise": gettext_lazy("The apology letter was issued with the new date."),
    "return": gettext_lazy("The result was returned."),
}
#: Actions that need a written reason.
NEEDS_NOTE = {"refuse", "request_supplement", "stop", "apologise"}


def _staff_gate(request: HttpRequest) -> HttpResponse | None:
    """Sign in first; 403 without a dossier role or without a confirmed second factor."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not positions_with(request.user, DossierPermission.DOSSIER_VIEW):
        raise DjangoPermissionDenied
    is_verified = getattr(request.user, "is_verified", None)
    if is_verified is not None and not is_verified():
        raise DjangoPermissionDenied
    return None


def _filters(request: HttpRequest) -> dict[str, str]:
    """The desk's filters as posted in the address: procedure code, status, channel, text."""
    filters = {
        "procedure": request.GET.get("procedure", "").strip(),
        "status": request.GET.get("status", ""),
        "channel": request.GET.get("channel", ""),
        "q": " ".join(request.GET.get("q", "").split())[:QUERY_MAX_LENGTH],
    }
    if not re.match(NATIONAL_CODE_PATTERN, filters["procedure"]):
        filters["procedure"] = ""
    if filters["status"] not in DossierStatus.values:
        filters["status"] = ""
    if filters["channel"] not in FilingChannel.values:
        filters["channel"] = ""
    return filters


def _apply(dossiers, filters: dict[str, str]):
    """Narrow an already scoped queue by the filters (the code or the applicant's name for the text)."""
    if filters["procedure"]:
        dossiers = dossiers.filter(procedure__national_code=filters["procedure"])
    if filters["status"]:
        dossiers = dossiers.filter(status=filters["status"])
    if filters["channel"]:
        dossiers = dossiers.filter(channel=filters["channel"])
    if filters["q"]:
        text = filters["q"]
        dossiers = dossiers.filter(Q(code__icontains=text) | Q(applicant_name__icontains=text))
    return dossiers


@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """The workspace: a tab per queue with its count, the filters, the queue's dossiers, bulk receive."""
    if (response := _staff_gate(request)) is not None:
        return response
    queue = request.GET.get("queue", "to_receive")
    if queue not in QUEUE_LABELS:
        queue = "to_receive"
    filters = _filters(request)
    counts = selectors.desk_queue_counts(actor=request.user)
    dossiers = _apply(selectors.desk_queue(actor=request.user, queue=queue), filters)
    page = Paginator(dossiers.select_related("procedure", "assignee"), DESK_PER_PAGE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    for dossier in page.object_list:
        dossier.badge = STATUS_BADGE.get(dossier.status, "text-bg-secondary")
        dossier.is_overdue = dossier.is_open and dossier.due_at is not None and dossier.due_at < now
    may_receive = bool(positions_with(request.user, DossierPermission.DOSSIER_RECEIVE))
    may_register = bool(positions_with(request.user, DossierPermission.DOSSIER_REGISTER))
    context = {
        "queue": queue,
        "tabs": [(key, label, counts.get(key, 0)) for key, label in QUEUE_LABELS.items()],
        "filters": filters,
        "statuses": DossierStatus.choices,
        "channels": FilingChannel.choices,
        "page": page,
        "may_bulk_receive": may_receive and queue == "to_receive",
        "may_register": may_register,
        "query_string": "&".join(f"{key}={value}" for key, value in filters.items() if value),
    }
    return render(request, "dossiers/desk/queue.html", context)


@require_POST
def bulk_receive(request: HttpRequest) -> HttpResponse:
    """Receive each dossier ticked, one by one; report which were received and why others were not."""
    if (response := _staff_gate(request)) is not None:
        return response
    codes = [code for code in request.POST.getlist("codes")[:BULK_MAX] if CODE_PATTERN.match(code)]
    received: list[str] = []
    for code in dict.fromkeys(codes):
        try:
            dossier = selectors.dossier_for(actor=request.user, code=code)
            services.dossier_act(actor=request.user, dossier=dossier, action="receive")
        except ApplicationError as error:
            messages.error(request, f"{code}: {error.message}")
        else:
            received.append(code)
    if received:
        messages.success(
            request,
            ngettext(
                "Received %(n)d dossier: %(codes)s.", "Received %(n)d dossiers: %(codes)s.", len(received)
            )
            % {"n": len(received), "codes": ", ".join(received)},
        )
    elif not codes:
        messages.warning(request, _("Tick the dossiers to receive first."))
    return redirect(f"{reverse('dossiers:desk')}?queue=to_receive")


def _assignees(request: HttpRequest, dossier: Dossier) -> list:
    """The people who may be handed the dossier: those who process or sign in its agency today."""
    roles = [
        role
        for role, perms in ROLE_PERMISSIONS.items()
        if {DossierPermission.DOSSIER_PROCESS, DossierPermission.DOSSIER_SIGN} & perms
    ]
    people = {
        position.user.pk: position.user
        for position in positions_in_agency(agency_id=dossier.agency_id, roles=roles)
        if position.user.is_active
    }
    return sorted(people.values(), key=lambda user: user.full_name)


@require_GET
def desk_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One dossier at the desk: applicant, form, papers, timeline, deadlines, and the actions allowed now."""
    if (response := _staff_gate(request)) is not None:
        return response
    dossier = dossier_or_error(request, code)
    actions = selectors.dossier_actions_for(actor=request.user, dossier=dossier)
    now = timezone.now()
    properties = dossier.case.form_schema.get("properties", {})
    form_rows = [
        (properties.get(name, {}).get("title", name), value)
        for name, value in (dossier.form_data or {}).items()
    ]
    context = {
        "dossier": dossier,
        "actions": actions,
        "timeline": timeline(list(selectors.dossier_timeline(dossier=dossier))),
        "reason_actions": [
            ("refuse", _("Do not receive (refuse)"), _("Refuse with this reason")),
            ("stop", _("Stop processing"), _("Stop with this reason")),
        ],
        "papers": list(dossier.components.select_related("document")),
        "form_rows": form_rows,
        "badge": STATUS_BADGE.get(dossier.status, "text-bg-secondary"),
        "is_overdue": dossier.is_open and dossier.due_at is not None and dossier.due_at < now,
        "step_overdue": dossier.is_open and dossier.step_due_at is not None and dossier.step_due_at < now,
        "assignees": _assignees(request, dossier) if "assign" in actions else [],
        "fee_applicant": vnd(dossier.fee_applicant),
        "fee_city": vnd(dossier.fee_city) if dossier.fee_city else "",
        "now": now,
    }
    return render(request, "dossiers/desk/detail.html", context)


def _action_payload(request: HttpRequest, action: str, dossier: Dossier) -> dict[str, Any]:
    """The arguments of one action, parsed from the posted form (InvalidInput for what is missing)."""
    payload: dict[str, Any] = {}
    note = request.POST.get("note", "").strip()[:2000]
    if action in NEEDS_NOTE and not note:
        raise InvalidInput(_("Write the reason first."), code="note_required")
    if action == "assign":
        chosen = request.POST.get("assignee", "")
        assignee = next(
            (user for user in _assignees(request, dossier) if str(user.public_id) == chosen), None
        )
        if assignee is None:
            raise InvalidInput(_("Choose who should handle the dossier."), code="assignee_required")
        payload["assignee"] = assignee
    elif action == "request_supplement":
        lines = request.POST.get("items", "").splitlines()
        items = [line.strip()[:300] for line in lines if line.strip()][:MAX_SUPPLEMENT_ITEMS]
        if not items:
            raise InvalidInput(
                _("List what the applicant should add, one item a line."), code="items_required"
            )
        payload["items"] = items
    elif action == "apologise":
        raw = request.POST.get("new_due_at", "")
        try:
            naive = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(_("Give the new date for the result."), code="new_due_at_required") from None
        payload["new_due_at"] = timezone.make_aware(naive) if timezone.is_naive(naive) else naive
    return {"note": note, **payload}


@require_POST
def desk_act(request: HttpRequest, code: str) -> HttpResponse:
    """Take one action on a dossier (the service checks the role, the unit and the state), then show it."""
    if (response := _staff_gate(request)) is not None:
        return response
    dossier = dossier_or_error(request, code)
    action = request.POST.get("action", "")
    if action not in ACTION_DONE:
        messages.error(request, _("That action does not exist."))
        return redirect("dossiers:desk_detail", code=dossier.code)
    try:
        payload = _action_payload(request, action, dossier)
        services.dossier_act(actor=request.user, dossier=dossier, action=action, **payload)
    except PermissionDenied as error:
        raise DjangoPermissionDenied(str(error.message)) from error
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        name = payload.get("assignee").full_name if payload.get("assignee") is not None else ""
        done = str(ACTION_DONE[action])
        messages.success(request, done % {"name": name} if action == "assign" else done)
    return redirect("dossiers:desk_detail", code=dossier.code)


def _desk_procedures(request: HttpRequest) -> list:
    query = " ".join(request.GET.get("q", "").split())[:QUERY_MAX_LENGTH]
    return list(procedure_search(query=query, field=None, level=None)[:20]) if query else []


def _person_found(request: HttpRequest) -> Any:
    national_id = request.GET.get("national_id", "").strip()
    if not re.fullmatch(r"\d{12}", national_id):
        return None
    return people_search(actor=request.user, query=national_id).first()


@require_http_methods(["GET", "POST"])
def desk_new(request: HttpRequest) -> HttpResponse:
    """Register a paper dossier for a resident: the procedure and case, the applicant (looked up by national
    ID when the clerk may see residents), the channel, the form, and each paper scanned or paper only."""
    if (response := _staff_gate(request)) is not None:
        return response
    if not positions_with(request.user, DossierPermission.DOSSIER_REGISTER):
        raise DjangoPermissionDenied
    code = request.POST.get("procedure") or request.GET.get("procedure", "")
    procedure = None
    if re.match(NATIONAL_CODE_PATTERN, code):
        try:
            procedure = procedure_detail(code=code)
        except NotFound:
            procedure = None
    if procedure is None:
        return render(
            request,
            "dossiers/desk/new_procedure.html",
            {"procedures": _desk_procedures(request), "q": request.GET.get("q", "")[:QUERY_MAX_LENGTH]},
        )
    cases = list(procedure.cases.all())
    chosen = request.POST.get("case") or request.GET.get("case", "")
    case = next((c for c in cases if c.code == chosen), cases[0] if len(cases) == 1 else None)
    if case is None:
        return render(request, "dossiers/desk/new_procedure.html", {"procedure": procedure, "cases": cases})

    posted = request.method == "POST"
    person = None if posted else _person_found(request)
    known = profile_values(person) if person is not None else {}
    applicant = DeskApplicantForm(
        request.POST if posted else None,
        prefix="applicant",
        initial={
            "applicant_national_id": known.get("national_id", request.GET.get("national_id", "")[:12]),
            "applicant_name": known.get("full_name", ""),
            "applicant_phone": known.get("phone", ""),
            "applicant_email": known.get("email", ""),
        },
    )
    form = ApplicationForm(request.POST if posted else None, schema=case.form_schema, user=person)
    delivery = DeliveryForm(request.POST if posted else None, prefix="delivery")
    papers = paper_choices(request, list(case.components.all()), lambda _c: [], default_source=SOURCE_PAPER)
    problem = ""
    if posted:
        inputs = component_inputs(request, papers, services.ComponentInput)
        valid = [applicant.is_valid(), form.is_valid(), delivery.is_valid()]
        if all(valid) and not any(paper.errors for paper in papers):
            data = applicant.cleaned_data
            try:
                dossier = services.dossier_register_at_desk(
                    actor=request.user,
                    case=case,
                    channel=data["channel"],
                    applicant_national_id=data["applicant_national_id"],
                    applicant_name=data["applicant_name"],
                    applicant_phone=data["applicant_phone"],
                    applicant_email=data["applicant_email"],
                    applicant_address=data["applicant_address"],
                    form_data=form.form_data(),
                    components=inputs,
                    delivery_method=delivery.cleaned_data["delivery_method"],
                    delivery_address=delivery.cleaned_data["delivery_address"].strip(),
                    idempotency_key=idempotency_key_from(request),
                )
            except PermissionDenied as error:
                raise DjangoPermissionDenied(str(error.message)) from error
            except ApplicationError as error:
                problem = service_problem(error, forms=[applicant, form, delivery], papers=papers)
            else:
                messages.success(
                    request, _("Dossier %(code)s was registered and received.") % {"code": dossier.code}
                )
                return redirect("dossiers:desk_detail", code=dossier.code)
        else:
            problem = _("Some answers need attention; they are marked below.")
    context = {
        "procedure": procedure,
        "case": case,
        "cases": cases,
        "applicant": applicant,
        "person": person,
        "form": form,
        "delivery": delivery,
        "papers": papers,
        "source_upload": SOURCE_UPLOAD,
        "source_paper": SOURCE_PAPER,
        "source_document": SOURCE_DOCUMENT,
        "idempotency_key": idempotency_key_from(request),
        "problem": problem,
    }
    return render(request, "dossiers/desk/new.html", context, status=422 if problem else 200)


@require_GET
def paper_download(request: HttpRequest, code: str, public_id: uuid.UUID) -> HttpResponse:
    """One paper of a dossier the staff member may see."""
    if (response := _staff_gate(request)) is not None:
        return response
    return paper_response(dossier_or_error(request, code), public_id)
