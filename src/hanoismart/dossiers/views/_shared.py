"""What the dossier pages share: amounts in đồng, the status in plain words, reading the papers posted."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from hanoismart.common.errors import NotFound, PermissionDenied
from hanoismart.dossiers import selectors
from hanoismart.procedures.models import DossierStatus

#: The status of a dossier in words an applicant understands (the national code's label is terse).
STATUS_EXPLAINED = {
    DossierStatus.SUBMITTED: _("Your dossier was sent. The one-stop desk will check it and receive it."),
    DossierStatus.RECEIVED: _("The one-stop desk received your dossier. The deadline is running."),
    DossierStatus.NOT_RECEIVED: _("The one-stop desk did not receive your dossier; the reason is below."),
    DossierStatus.IN_PROGRESS: _("Your dossier is being processed."),
    DossierStatus.SUPPLEMENT_REQUESTED: _(
        "Something is missing: add what is asked below. The deadline waits for you meanwhile."
    ),
    DossierStatus.FINANCIAL_OBLIGATION: _("A fee is due before your dossier can go on."),
    DossierStatus.WITHDRAWN: _("You withdrew this dossier."),
    DossierStatus.STOPPED: _("Processing was stopped; the reason is below."),
    DossierStatus.PROCESSED: _("Your result is ready."),
    DossierStatus.RETURNED: _("Your result was returned to you."),
}

#: Bootstrap colours of the status badges.
STATUS_BADGE = {
    DossierStatus.SUBMITTED: "text-bg-secondary",
    DossierStatus.RECEIVED: "text-bg-info",
    DossierStatus.NOT_RECEIVED: "text-bg-danger",
    DossierStatus.IN_PROGRESS: "text-bg-primary",
    DossierStatus.SUPPLEMENT_REQUESTED: "text-bg-warning",
    DossierStatus.FINANCIAL_OBLIGATION: "text-bg-warning",
    DossierStatus.WITHDRAWN: "text-bg-light border",
    DossierStatus.STOPPED: "text-bg-dark",
    DossierStatus.PROCESSED: "text-bg-success",
    DossierStatus.RETURNED: "text-bg-success",
}

#: What each timeline event says, in words.
EVENT_LABELS = {
    "submit": _("Submitted online"),
    "register": _("Registered at the one-stop desk"),
    "receive": _("Received by the one-stop desk"),
    "refuse": _("Not received"),
    "assign": _("Handed to an officer"),
    "forward": _("Passed on to the next step"),
    "request_supplement": _("Supplement requested"),
    "supplement": _("Supplement sent"),
    "request_payment": _("Payment requested"),
    "pay": _("Paid"),
    "approve": _("Approved"),
    "sign": _("Result signed"),
    "stop": _("Processing stopped"),
    "withdraw": _("Withdrawn by the applicant"),
    "apologise": _("Apology letter issued with a new date"),
    "return": _("Result returned"),
    "rate": _("Rated by the applicant"),
}


def timeline(events: list[Any]) -> list[dict[str, Any]]:
    """The events with their label in words (the action's code when it is one we do not know)."""
    rows = []
    for event in events:
        items = (event.details or {}).get("items")
        rows.append(
            {
                "event": event,
                "label": EVENT_LABELS.get(event.action, event.action),
                "items": [str(item) for item in items] if isinstance(items, list) else [],
            }
        )
    return rows


#: How an applicant may satisfy a paper online, and a clerk at the desk.
SOURCE_DOCUMENT = "doc"
SOURCE_UPLOAD = "upload"
SOURCE_NONE = "none"
SOURCE_PAPER = "paper"

MAX_SUPPLEMENT_ITEMS = 20


def vnd(amount: int | None) -> str:
    """An amount in đồng as Vietnamese write it: 100.000 ₫."""
    return f"{amount or 0:,} ₫".replace(",", ".")


def idempotency_key_from(request: HttpRequest) -> str:
    """The posted key when it looks like one we made, else a fresh one (a form's first rendering)."""
    posted = request.POST.get("idempotency_key", "") if request.method == "POST" else ""
    try:
        return uuid.UUID(posted).hex
    except ValueError:
        return uuid.uuid4().hex


@dataclass
class PaperChoice:
    """One paper of the case on the filing page: the stored documents that match, what was chosen, errors."""

    component: Any
    matches: list[Any] = field(default_factory=list)
    choice: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"c{self.component.pk}"

    @property
    def reuse_options(self) -> list[tuple[str, Any]]:
        """(radio value, document) for each matching document of the store."""
        return [(f"{SOURCE_DOCUMENT}:{document.public_id}", document) for document in self.matches]


def paper_choices(
    request: HttpRequest, components: list[Any], matches_for: Any, *, default_source: str
) -> list[PaperChoice]:
    """The papers of a case with the documents that could satisfy each (``matches_for(component)``) and the
    posted choice, or the default: reuse the first matching document when there is one."""
    papers = []
    for component in components:
        matches = list(matches_for(component)) if component.document_type_code else []
        paper = PaperChoice(component=component, matches=matches)
        posted = request.POST.get(f"{paper.prefix}-source", "") if request.method == "POST" else ""
        if posted:
            paper.choice = posted
        elif matches:
            paper.choice = f"{SOURCE_DOCUMENT}:{matches[0].public_id}"
        else:
            paper.choice = default_source if component.is_mandatory else SOURCE_NONE
        papers.append(paper)
    return papers


def component_inputs(request: HttpRequest, papers: list[PaperChoice], component_input: type) -> list[Any]:
    """The ``ComponentInput`` rows for the papers posted; a paper's problem lands in its ``errors``."""
    inputs = []
    for paper in papers:
        choice = paper.choice
        upload = request.FILES.get(f"{paper.prefix}-file")
        if choice.startswith(f"{SOURCE_DOCUMENT}:"):
            public_id = choice.split(":", 1)[1]
            try:
                uuid.UUID(public_id)
            except ValueError:
                paper.errors.append(str(_("Choose one of your documents, or upload a file.")))
                continue
            inputs.append(component_input(component_id=paper.component.pk, document_public_id=public_id))
        elif choice == SOURCE_UPLOAD:
            if upload is None:
                if paper.component.is_mandatory:
                    paper.errors.append(str(_("Choose the file to upload.")))
                continue
            inputs.append(component_input(component_id=paper.component.pk, upload=upload))
        elif choice == SOURCE_PAPER:
            inputs.append(component_input(component_id=paper.component.pk, paper_only=True))
        elif choice == SOURCE_NONE and not paper.component.is_mandatory:
            continue
        else:
            paper.errors.append(str(_("This paper is required.")))
    return inputs


def fee_summary(quote: Any) -> dict[str, Any]:
    """The fee box of the filing page: each line with who pays what, and the totals."""
    return {
        "lines": [
            {
                "name": line.name,
                "note": line.note,
                "amount": vnd(line.amount),
                "resident_pays": vnd(line.resident_pays),
                "city_pays": vnd(line.city_pays) if line.city_pays else "",
            }
            for line in quote.lines
        ],
        "resident_pays": vnd(quote.resident_pays),
        "city_pays": vnd(quote.city_pays) if quote.city_pays else "",
        "is_free": quote.resident_pays == 0,
        "postal_return_free": quote.postal_return_free,
    }


def service_problem(error: Any, *, forms: list[Any], papers: list[PaperChoice]) -> str:
    """Put a refusal's per-field errors where they belong (a form's field, a paper) and return the sentence
    to show above the form: the refusal's message and whatever could not be placed."""
    leftover: list[str] = []
    by_component = {f"component_{paper.component.pk}": paper for paper in papers}
    for key, items in (getattr(error, "details", None) or {}).items():
        texts = [str(item) for item in items]
        form = next((form for form in forms if key in form.fields), None)
        if form is not None:
            for text in texts:
                form.add_error(key, text)
        elif key in by_component:
            by_component[key].errors.extend(texts)
        else:
            leftover.extend(texts)
    return " ".join([str(error.message), *leftover])


def paper_response(dossier: Any, public_id: uuid.UUID) -> FileResponse:
    """The file of one paper of a dossier the caller already may see (404 for a paper without a file)."""
    paper = dossier.components.filter(public_id=public_id).first()
    if paper is None or not paper.file:
        raise Http404
    return FileResponse(
        paper.file.open("rb"),
        as_attachment=True,
        filename=paper.file_name or paper.file.name.rsplit("/", 1)[-1],
        content_type=paper.content_type or "application/octet-stream",
    )


CODE_PATTERN = re.compile(r"^[\w.\-]{1,60}$")


def dossier_or_error(request: HttpRequest, code: str) -> Any:
    """The dossier the user may see: 404 when unknown (or not shaped like a code), 403 when out of scope."""
    if not CODE_PATTERN.match(code):
        raise Http404
    try:
        return selectors.dossier_for(actor=request.user, code=code)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.message)) from exc
