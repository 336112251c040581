"""The resident's pages: file a dossier online, "my dossiers", one dossier with its timeline and what the
applicant may do now (pay, supplement, withdraw, rate)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hanoismart.common.errors import ApplicationError, InvalidInput, NotFound, PermissionDenied
from hanoismart.directory.models import UnitKind
from hanoismart.directory.selectors import unit_list
from hanoismart.documents.selectors import documents_matching
from hanoismart.dossiers import selectors, services
from hanoismart.dossiers.forms import ApplicationForm, DeliveryForm
from hanoismart.dossiers.models import RATING_CRITERIA, Dossier, FilingChannel, Satisfaction
from hanoismart.dossiers.views._shared import (
    SOURCE_UPLOAD,
    STATUS_BADGE,
    STATUS_EXPLAINED,
    component_inputs,
    dossier_or_error,
    fee_summary,
    idempotency_key_from,
    paper_choices,
    paper_response,
    service_problem,
    timeline,
    vnd,
)
from hanoismart.procedures.models import NATIONAL_CODE_PATTERN, DossierStatus, Level
from hanoismart.procedures.selectors import fee_for, procedure_detail

MY_DOSSIERS_PER_PAGE = 20


def _procedure_or_404(code: str):
    if not re.match(NATIONAL_CODE_PATTERN, code):
        raise Http404
    try:
        return procedure_detail(code=code)
    except NotFound as exc:
        raise Http404 from exc


def _wards_for(procedure) -> list:
    if procedure.level != Level.WARD_COMMUNE or not procedure.may_file_outside_ward:
        return []
    return list(unit_list(kind=UnitKind.WARD)) + list(unit_list(kind=UnitKind.COMMUNE))


@require_http_methods(["GET", "POST"])
def dossier_new(request: HttpRequest, code: str) -> HttpResponse:
    """File a dossier online: the case, the application form (prefilled), each paper (reuse from the store
    or upload), delivery, and a summary with the fee and the due date; the submission is idempotent."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    procedure = _procedure_or_404(code)
    cases = list(procedure.cases.all())
    chosen = request.POST.get("case") or request.GET.get("case", "")
    case = next((c for c in cases if c.code == chosen), None)
    if case is None and len(cases) == 1:
        case = cases[0]
    if case is None:
        return render(request, "dossiers/new_case.html", {"procedure": procedure, "cases": cases})

    user = request.user
    posted = request.method == "POST"
    form = ApplicationForm(request.POST if posted else None, schema=case.form_schema, user=user)
    delivery = DeliveryForm(request.POST if posted else None, prefix="delivery")
    components = list(case.components.all())
    papers = paper_choices(
        request,
        components,
        lambda component: documents_matching(actor=user, type_code=component.document_type_code),
        default_source=SOURCE_UPLOAD,
    )
    wards = _wards_for(procedure)
    ward_code = request.POST.get("unit", "") if posted else (user.ward.code if user.ward_id else "")
    problem = ""
    if posted:
        inputs = component_inputs(request, papers, services.ComponentInput)
        form_ok = form.is_valid()
        delivery_ok = delivery.is_valid()
        unit = next((w for w in wards if w.code == ward_code), None) if wards else None
        if wards and unit is None:
            problem = _("Choose the ward or commune that should handle your dossier.")
        papers_ok = not any(paper.errors for paper in papers)
        if form_ok and delivery_ok and papers_ok and not problem:
            try:
                dossier = services.dossier_submit(
                    actor=user,
                    case=case,
                    form_data=form.form_data(),
                    components=inputs,
                    unit=unit,
                    delivery_method=delivery.cleaned_data["delivery_method"],
                    delivery_address=delivery.cleaned_data["delivery_address"].strip(),
                    idempotency_key=idempotency_key_from(request),
                )
            except ApplicationError as error:
                problem = service_problem(error, forms=[form, delivery], papers=papers)
            else:
                messages.success(
                    request,
                    _("Your dossier %(code)s was submitted. We will tell you when the desk receives it.")
                    % {"code": dossier.code},
                )
                return redirect("dossiers:detail", code=dossier.code)
        if not problem and not (form_ok and delivery_ok and papers_ok):
            problem = _("Some answers need your attention; they are marked below.")
        if request.FILES:
            problem += " " + _("Files are not kept when the page comes back: choose them again.")

    today = timezone.localdate()
    context: dict[str, Any] = {
        "procedure": procedure,
        "case": case,
        "cases": cases,
        "form": form,
        "delivery": delivery,
        "papers": papers,
        "wards": wards,
        "ward_code": ward_code,
        "fee": fee_summary(fee_for(case=case, channel="online", on_date=today)),
        "due_at": selectors.due_preview(case=case, channel=FilingChannel.ONLINE),
        "idempotency_key": idempotency_key_from(request),
        "problem": problem.strip(),
    }
    return render(request, "dossiers/new.html", context, status=422 if problem else 200)


@require_GET
def my_dossiers(request: HttpRequest) -> HttpResponse:
    """The resident's dossiers, newest first, with their status and due date."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    dossiers = selectors.dossier_list_for(actor=request.user, filters={"mine": True})
    page = Paginator(dossiers.select_related("procedure"), MY_DOSSIERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for dossier in page.object_list:
        dossier.badge = STATUS_BADGE.get(dossier.status, "text-bg-secondary")
    return render(request, "dossiers/my_dossiers.html", {"page": page})


def _supplement_request(events: list) -> dict[str, Any] | None:
    """The latest supplement request of the timeline: its reason and the items asked for."""
    for event in reversed(events):
        if event.action == "request_supplement":
            return {"note": event.note, "items": (event.details or {}).get("items", []), "at": event.at}
    return None


@require_GET
def dossier_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One of the resident's dossiers: status in plain words, timeline, papers, fee, and what to do next."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    dossier = dossier_or_error(request, code)
    if dossier.applicant_id != request.user.pk:
        # Staff who may see it work on it at the desk.
        return redirect("dossiers:desk_detail", code=dossier.code)
    events = list(selectors.dossier_timeline(dossier=dossier))
    actions = selectors.dossier_actions_for(actor=request.user, dossier=dossier)
    context = {
        "dossier": dossier,
        "timeline": timeline(events),
        "actions": actions,
        "badge": STATUS_BADGE.get(dossier.status, "text-bg-secondary"),
        "explained": STATUS_EXPLAINED.get(dossier.status, ""),
        "papers": list(dossier.components.select_related("document")),
        "case_components": list(dossier.case.components.all()) if "supplement" in actions else [],
        "supplement": _supplement_request(events) if "supplement" in actions else None,
        "fee_applicant": vnd(dossier.fee_applicant),
        "fee_city": vnd(dossier.fee_city) if dossier.fee_city else "",
        "criteria": list(RATING_CRITERIA.items()),
        "satisfaction": Satisfaction.choices,
        "receipt_ready": dossier.received_at is not None and dossier.status != DossierStatus.NOT_RECEIVED,
    }
    if dossier.result_document_id:
        public_id = dossier.result_document.public_id
        context["result_url"] = reverse("documents:detail", args=[public_id])
        context["result_file_url"] = reverse("documents:file", args=[public_id])
    return render(request, "dossiers/detail.html", context)


def _rate_payload(request: HttpRequest) -> dict[str, Any]:
    scores = {}
    for key in RATING_CRITERIA:
        value = request.POST.get(f"score-{key}", "")
        if value not in {"0", "1", "2"}:
            raise InvalidInput(_("Score every criterion: 2, 1 or 0."), code="rating_incomplete")
        scores[key] = int(value)
    overall = request.POST.get("overall", "")
    if overall not in Satisfaction.values:
        raise InvalidInput(_("Say how satisfied you are overall."), code="rating_incomplete")
    return {"scores": scores, "overall": overall, "comment": request.POST.get("comment", "")[:2000]}


def _supplement_payload(request: HttpRequest, dossier: Dossier) -> dict[str, Any]:
    components = []
    for component in dossier.case.components.all():
        upload = request.FILES.get(f"c{component.pk}-file")
        if upload is not None:
            components.append(services.ComponentInput(component_id=component.pk, upload=upload))
    if not components:
        raise InvalidInput(_("Choose at least one file to add."), code="supplement_empty")
    return {"components": components}


@require_POST
def dossier_act(request: HttpRequest, code: str) -> HttpResponse:
    """What the applicant does to their dossier: pay, supplement, withdraw, rate. Then back to the page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    dossier = dossier_or_error(request, code)
    action = request.POST.get("action", "")
    note = request.POST.get("note", "").strip()[:2000]
    messages_done = {
        "pay": _("Payment received. Thank you."),
        "supplement": _("Your papers were added; the desk will continue with your dossier."),
        "withdraw": _("Your dossier was withdrawn."),
        "rate": _("Thank you for your rating."),
    }
    if action not in messages_done:
        messages.error(request, _("That is not something you can do with this dossier."))
        return redirect("dossiers:detail", code=dossier.code)
    try:
        payload: dict[str, Any] = {}
        if action == "rate":
            payload = _rate_payload(request)
        elif action == "supplement":
            payload = _supplement_payload(request, dossier)
        services.dossier_act(actor=request.user, dossier=dossier, action=action, note=note, **payload)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, messages_done[action])
    return redirect("dossiers:detail", code=dossier.code)


@require_GET
def paper_download(request: HttpRequest, code: str, public_id: uuid.UUID) -> HttpResponse:
    """One paper of the applicant's own dossier."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    dossier = dossier_or_error(request, code)
    if dossier.applicant_id != request.user.pk:
        raise DjangoPermissionDenied
    return paper_response(dossier, public_id)


@require_GET
def receipt_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The receipt (phiếu tiếp nhận và hẹn trả kết quả) of a received dossier, for its applicant or staff."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    dossier = dossier_or_error(request, code)
    try:
        pdf = services.dossier_receipt_pdf(actor=request.user, dossier=dossier)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.message)) from exc
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("dossiers:detail", code=dossier.code)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{dossier.code}-receipt.pdf"'
    return response
