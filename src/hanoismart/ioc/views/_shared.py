"""What the IOC's pages share: the access gate (which computes the viewer's scope once per request), the unit
and period filters, refusals turned into pages, the live-update answer and the Excel export of a table."""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font

from hanoismart.common.errors import ApplicationError, InvalidInput, NotFound, PermissionDenied
from hanoismart.ioc import selectors
from hanoismart.ioc.selectors import IocScope

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: How often an open page asks whether its figures changed (the issue asks for an update within 5 s).
LIVE_POLL_SECONDS = 3

#: The period presets of the filter drawer, in the order shown.
PERIODS = {
    "today": gettext_lazy("Today"),
    "week": gettext_lazy("This week"),
    "month": gettext_lazy("This month"),
    "quarter": gettext_lazy("This quarter"),
    "year": gettext_lazy("This year"),
    "custom": gettext_lazy("Custom"),
}
DEFAULT_PERIOD = "month"
#: The longest custom period (the trend charts have one point per month: ten years is plenty).
MAX_PERIOD_DAYS = 3660


def ioc_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Gate the view — sign in first; 403 without ``ioc:dashboard:view`` anywhere or without a confirmed
    second factor — and call it with the viewer's scope (``scope=``, an ``IocScope`` read once for this
    request: the view hands it to every selector it calls); turn the selectors' and services' refusals into
    pages: 403 out of scope, 404 for something unknown, 400 with the message for bad input."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            scope = selectors.ioc_scope(actor=request.user)  # PermissionDenied without the dashboard
            is_verified = getattr(request.user, "is_verified", None)
            if is_verified is not None and not is_verified():
                raise DjangoPermissionDenied
            return view(request, *args, scope=scope, **kwargs)
        except PermissionDenied as error:
            raise DjangoPermissionDenied(str(error.message)) from None
        except NotFound:
            raise Http404 from None
        except ApplicationError as error:
            return bad_request(request, error)

    return wrapper


def bad_request(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    """The error page with the refusal's message and each field's problem (400)."""
    problems = [str(item) for items in error.details.values() for item in items]
    detail = " ".join([str(error.message), *problems])
    return render(request, "common/error.html", {"status": 400, "detail": detail}, status=400)


# -- filters ----------------------------------------------------------------------------------------------


@dataclass
class Filters:
    """The unit and period a page shows, as read from the address (``unit``, ``period``, ``from``, ``to``;
    ``to`` is the day after the last, as in the API; the drawer's ``until`` is the last day itself)."""

    unit: Any  # the Unit looked at, None for the city (or the whole scope)
    unit_code: str  # "" for the whole city
    period: str
    date_from: dt.date
    date_to: dt.date
    scope: IocScope
    #: The code as the address gave it: the city's code there means "the city's own agencies" to the records.
    requested_unit: str = ""

    @property
    def until(self) -> dt.date:
        """The last day of the period (what the drawer shows)."""
        return self.date_to - dt.timedelta(days=1)

    @property
    def selector_unit(self) -> str:
        """The unit code to hand the selectors: "" for the city itself (everything in scope)."""
        if self.unit is None or self.unit.parent_id is None:
            return ""
        return self.unit.code

    def params(self, **overrides: Any) -> dict[str, str]:
        """The filters as query parameters (the preset, or the dates of a custom period)."""
        values: dict[str, str] = {}
        if self.unit_code:
            values["unit"] = self.unit_code
        if self.period == "custom":
            values["from"] = self.date_from.isoformat()
            values["to"] = self.date_to.isoformat()
        elif self.period != DEFAULT_PERIOD:
            values["period"] = self.period
        values.update({key: str(value) for key, value in overrides.items() if value not in (None, "")})
        return values

    def query(self, **overrides: Any) -> str:
        """``params`` as a query string (without the "?")."""
        return urlencode(self.params(**overrides))

    @property
    def label(self) -> str:
        """The period in words: the preset's name and its dates."""
        name = PERIODS.get(self.period, "")
        days = f"{self.date_from:%d/%m/%Y}"
        if self.until != self.date_from:
            days = f"{days} – {self.until:%d/%m/%Y}"
        return f"{name} · {days}" if self.period != "custom" else days


def preset_range(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """``[from, to)`` of a preset, so far: up to and including today."""
    tomorrow = today + dt.timedelta(days=1)
    if period == "today":
        return today, tomorrow
    if period == "week":
        return today - dt.timedelta(days=today.weekday()), tomorrow
    if period == "quarter":
        return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), tomorrow
    if period == "year":
        return dt.date(today.year, 1, 1), tomorrow
    return today.replace(day=1), tomorrow


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            _("Dates are written YYYY-MM-DD."),
            details={field: [_("Not a date: %(value)s") % {"value": value}]},
        ) from None


def filters_from(request: HttpRequest, scope: IocScope, *, today: dt.date | None = None) -> Filters:
    """Read the unit and period of the address, within the viewer's ``scope``. A custom period needs
    ``from`` and ``to`` (or ``until``, the last day); dates given without a preset make the period custom.
    Raises ``PermissionDenied`` for a unit out of scope, ``NotFound`` for an unknown unit, ``InvalidInput``
    for bad dates."""
    today = today or timezone.localdate()
    unit_code = requested = request.GET.get("unit", "").strip()[:10]
    if unit_code:
        unit = next((unit for unit in scope.units if unit.code == unit_code), None)
        if unit is None:
            if scope.unit_ids is None or not unit_code.isdigit():  # the city's staff may pick any unit
                raise NotFound(_("No unit with code %(code)s.") % {"code": unit_code})
            raise PermissionDenied(_("You may not see the figures of this unit."))
        if unit.parent_id is None and scope.unit_ids is None:
            unit_code = ""  # the city itself: everything, as with no unit
    else:
        unit = scope.default_unit
        unit_code = unit.code if unit is not None and scope.unit_ids is not None else ""
    period = request.GET.get("period", "")
    has_dates = any(request.GET.get(key) for key in ("from", "to", "until"))
    if period not in PERIODS:
        period = "custom" if has_dates else DEFAULT_PERIOD
    if period == "custom":
        if not request.GET.get("from") or not (request.GET.get("to") or request.GET.get("until")):
            raise InvalidInput(
                _("A custom period needs its first and last day."), details={"from": [_("Required.")]}
            )
        date_from = _date(request.GET["from"], "from")
        if request.GET.get("until"):
            date_to = _date(request.GET["until"], "until") + dt.timedelta(days=1)
        else:
            date_to = _date(request.GET["to"], "to")
        if date_to <= date_from:
            raise InvalidInput(
                _("The period must end after it starts."), details={"to": [_("Must be after the start.")]}
            )
        if (date_to - date_from).days > MAX_PERIOD_DAYS:
            raise InvalidInput(_("A period can be at most ten years long."))
        # Dates that a preset would give (a tile's link carries them) are shown as that preset.
        period = next(
            (key for key in PERIODS if key != "custom" and preset_range(key, today) == (date_from, date_to)),
            "custom",
        )
    else:
        date_from, date_to = preset_range(period, today)
    return Filters(
        unit=unit,
        unit_code=unit_code,
        period=period,
        date_from=date_from,
        date_to=date_to,
        scope=scope,
        requested_unit=requested,
    )


def filter_context(filters: Filters) -> dict[str, Any]:
    """What the filter drawer needs."""
    return {
        "filters": filters,
        "periods": list(PERIODS.items()),
        "units": filters.scope.units,
    }


# -- live updates -----------------------------------------------------------------------------------------


def unchanged(request: HttpRequest, token: str) -> HttpResponse | None:
    """204 when the page already shows what ``token`` stands for (it sent it back as ``token``): htmx then
    leaves the page alone. None when the page must be refreshed."""
    if request.GET.get("token") == token:
        response = HttpResponse(status=204)
        response["Cache-Control"] = "no-store"
        return response
    return None


def live_token_for(request: HttpRequest, filters: Filters) -> str:
    """The overview's ``live_token`` for the unit, with the period, so that a preset rolling over midnight
    refreshes too."""
    token = selectors.live_token(actor=request.user, scope=filters.scope, unit=filters.selector_unit)
    return f"{token}.{filters.date_from:%Y%m%d}{filters.date_to:%Y%m%d}"


# -- Excel ------------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, int | float | dt.date):
        return value
    return str(value)


def xlsx_response(
    *,
    filename: str,
    title: str,
    header: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    notes: Sequence[str] = (),
) -> HttpResponse:
    """A one-sheet .xlsx download: optional lines of notes (what the table is), a bold header, the rows."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31] or "IOC"
    for note in notes:
        sheet.append([str(note)])
    if notes:
        sheet.append([])
    sheet.append([str(item) for item in header])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = f"A{sheet.max_row + 1}"
    for row in rows:
        sheet.append([_cell(value) for value in row])
    first = len(notes) + 2 if notes else 1  # the notes run long: size the columns by the table
    for column in sheet.columns:
        width = max((len(str(cell.value or "")) for cell in column[first - 1 :]), default=8)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    output = io.BytesIO()
    book.save(output)
    response = HttpResponse(output.getvalue(), content_type=XLSX_MIME)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
