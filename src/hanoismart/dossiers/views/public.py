"""The public lookup: anyone with a dossier's code and the applicant's phone number sees where it stands
(status, procedure, dates), and nothing personal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hanoismart.dossiers import selectors
from hanoismart.dossiers.forms import LookupForm
from hanoismart.dossiers.views._shared import STATUS_BADGE


@require_GET
def lookup(request: HttpRequest) -> HttpResponse:
    """Look a dossier up by code and phone; the same answer for an unknown code and a wrong phone."""
    form = LookupForm(request.GET if "code" in request.GET else None)
    result = None
    searched = False
    if form.is_bound and form.is_valid():
        searched = True
        result = selectors.dossier_public_status(
            code=form.cleaned_data["code"].strip().upper(), phone=form.cleaned_data["phone"].strip()
        )
    context = {
        "form": form,
        "result": result,
        "searched": searched,
        "badge": STATUS_BADGE.get(result.get("status"), "text-bg-secondary") if result else "",
    }
    return render(
        request, "dossiers/lookup.html", context, status=404 if searched and result is None else 200
    )
