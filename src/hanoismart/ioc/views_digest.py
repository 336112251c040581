"""The leaders' digest on the web: the download (``/ioc/digest/?unit=&frequency=&format=pdf|xlsx&on=``) and
the page where a leader downloads one and manages their scheduled digests (``/ioc/digests/``). Staff with
``ioc:dashboard:view``, within their scope (a ward's leader: their ward only, else 403)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from hanoismart.common.errors import ApplicationError, InvalidInput, PermissionDenied
from hanoismart.ioc.digest import PDF_MIME, XLSX_MIME, digest_pdf, digest_xlsx, filename
from hanoismart.ioc.digests import (
    FORMATS,
    digest_build,
    digest_subscribe,
    digest_subscriptions_for,
    digest_unsubscribe,
)
from hanoismart.ioc.models import DigestFrequency
from hanoismart.ioc.selectors import IocScope
from hanoismart.ioc.views._shared import ioc_page


def _day(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            _("The day is not a date."), details={"on": [_("Use the form YYYY-MM-DD.")]}
        ) from None


@require_GET
@ioc_page
def digest_download(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The digest of a unit (default: the viewer's) for the day, week or month before ``on`` (default:
    today), as PDF or Excel, in the page's language."""
    fmt = request.GET.get("format", "pdf")
    if fmt not in FORMATS:
        raise InvalidInput(
            _("A digest comes as PDF or Excel."), details={"format": [_("Choose pdf or xlsx.")]}
        )
    digest = digest_build(
        actor=request.user,
        scope=scope,
        unit=request.GET.get("unit", ""),
        frequency=request.GET.get("frequency", DigestFrequency.WEEKLY),
        today=_day(request.GET.get("on", "")),
    )
    if fmt == "pdf":
        response = HttpResponse(digest_pdf(digest), content_type=PDF_MIME)
    else:
        response = HttpResponse(digest_xlsx(digest), content_type=XLSX_MIME)
    response["Content-Disposition"] = f'attachment; filename="{filename(digest, fmt)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@ioc_page
def digest_settings(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """Download a digest now, and subscribe to (or stop) scheduled ones."""
    problem = ""
    if request.method == "POST":
        try:
            if request.POST.get("op") == "unsubscribe":
                digest_unsubscribe(
                    actor=request.user, subscription_id=int(request.POST.get("subscription") or 0)
                )
                messages.success(request, _("The digest will no longer be sent."))
            else:
                digest_subscribe(
                    actor=request.user,
                    unit=request.POST.get("unit", ""),
                    frequency=request.POST.get("frequency", ""),
                )
                messages.success(request, _("The digest will be sent after each period ends."))
        except PermissionDenied:
            raise
        except ApplicationError as error:
            details = [str(item) for items in error.details.values() for item in items]
            problem = " ".join([str(error.message), *details])
        else:
            return redirect("ioc_digest:settings")
    context = {
        "section": "digest",
        "subscriptions": digest_subscriptions_for(actor=request.user),
        "units": scope.units,
        "default_unit": scope.default_unit,
        "frequencies": DigestFrequency.choices,
        "problem": problem,
        "posted": request.POST if problem else {},
    }
    return render(request, "ioc/digests.html", context, status=422 if problem else 200)
