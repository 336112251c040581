"""Data entry by machine, in the spirit of DHIS2's ``dataValueSets``: one reporter's values for one period,
as JSON or CSV, with a dry run and a per-value import summary."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput, NotFound
from hanoismart.directory.models import Agency
from hanoismart.directory.selectors import unit_by_code
from hanoismart.reporting.selectors import form_by_code, period_by_code
from hanoismart.reporting.services.periods import period_for
from hanoismart.reporting.services.submissions import submission_open, submission_save_draft
from hanoismart.reporting.services.values import ImportSummary, ValueEntry

CSV_MAX_ROWS = 5000
CSV_COLUMNS = ("indicator", "disaggregation", "value", "comment")


def data_value_set_import(
    *,
    actor: Any,
    form_code: str,
    period_code: str,
    unit_code: str,
    agency_code: str = "",
    values: Sequence[ValueEntry],
    dry_run: bool = False,
) -> ImportSummary:
    """Write ``values`` into the reporter's report of ``form_code`` for ``period_code`` (opened as a draft if
    needed). All or nothing; a dry run checks everything and writes nothing (not even the draft)."""
    form = form_by_code(form_code)
    try:
        period = period_by_code(form, period_code)
    except NotFound:
        period = _period_from_code(form, period_code)
    unit = unit_by_code(unit_code)
    agency = None
    if agency_code:
        agency = Agency.objects.filter(code=agency_code).first()
        if agency is None:
            raise NotFound(_("No agency with code %(code)s.") % {"code": agency_code})
        unit = agency.unit
    with transaction.atomic():
        submission = submission_open(actor=actor, form=form, period=period, unit=unit, agency=agency)
        summary = submission_save_draft(actor=actor, submission=submission, values=values, dry_run=dry_run)
        if dry_run:
            transaction.set_rollback(True)  # not even the draft it opened
    return summary


def _period_from_code(form: Any, code: str) -> Any:
    """A monthly code ("2025-09") names a period that may not have been made yet: make it."""
    import datetime as dt

    try:
        year, month = (int(part) for part in code.split("-"))
        day = dt.date(year, month, 1)
    except ValueError:
        raise NotFound(_("No period %(code)s for this form.") % {"code": code}) from None
    period = period_for(form=form, day=day.replace(day=min(form.cut_off_day or 28, 28)))
    if period.code != code:
        raise NotFound(_("No period %(code)s for this form.") % {"code": code})
    return period


def csv_entries(text: str) -> list[ValueEntry]:
    """Values from CSV text with a header row naming ``indicator``, ``value`` and optionally
    ``disaggregation`` and ``comment``; raises ``InvalidInput`` on a malformed file."""
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "indicator" not in header or "value" not in header:
        raise InvalidInput(
            _("The CSV needs a header row with the columns indicator and value."), code="invalid_csv"
        )
    reader.fieldnames = header
    entries: list[ValueEntry] = []
    try:
        for row in reader:
            if len(entries) >= CSV_MAX_ROWS:
                raise InvalidInput(_("At most %(count)d rows.") % {"count": CSV_MAX_ROWS}, code="invalid_csv")
            entries.append(
                ValueEntry(
                    indicator=(row.get("indicator") or "").strip(),
                    disaggregation=(row.get("disaggregation") or "").strip(),
                    value=row.get("value"),
                    comment=(row.get("comment") or "").strip(),
                )
            )
    except csv.Error as error:
        raise InvalidInput(
            _("The CSV cannot be read: %(error)s") % {"error": error}, code="invalid_csv"
        ) from None
    return entries
