"""Filling in a report from its Excel template: every error names its cell, and nothing is saved from a file
with errors (``values_write`` is all or nothing)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput
from hanoismart.reporting.models import Submission
from hanoismart.reporting.services.submissions import submission_save_draft
from hanoismart.reporting.services.values import ImportSummary, ValueEntry, ValuesRefused, field_name
from hanoismart.reporting.spreadsheets import template_parse


def submission_import_xlsx(
    *, actor: Any, submission: Submission, content: bytes, dry_run: bool = False
) -> ImportSummary:
    """Write the values of a filled template into ``submission`` (a draft or a returned report the actor
    fills in). Refused as a whole, with one message per bad cell ("D7: 'abc': Enter a number.") in
    ``InvalidInput.details`` keyed by cell, when any cell is wrong."""
    parsed = template_parse(content, submission=submission)
    errors = dict(parsed.errors)
    summary: ImportSummary | None = None
    try:
        summary = submission_save_draft(
            actor=actor,
            submission=submission,
            values=[
                ValueEntry(e.indicator, e.value, disaggregation=e.disaggregation, comment=e.comment)
                for e in parsed.entries
            ],
            dry_run=dry_run or bool(errors),
        )
    except ValuesRefused as refusal:
        for outcome in refusal.summary.conflicts:
            cell = parsed.cells.get((outcome.indicator, outcome.disaggregation))
            if cell is None:
                key = field_name(outcome.indicator, outcome.disaggregation)
                errors.setdefault(key, []).append(f"{key}: {outcome.reason}")
                continue
            errors.setdefault(cell, []).append(
                _("%(cell)s: '%(value)s': %(reason)s")
                % {"cell": cell, "value": parsed.raw.get(cell, ""), "reason": outcome.reason}
            )
    if errors:
        raise InvalidInput(
            _("The file has %(count)d errors; nothing was saved.")
            % {"count": sum(len(v) for v in errors.values())},
            code="invalid_cells",
            details=dict(sorted(errors.items(), key=lambda item: _cell_order(item[0]))),
        )
    if summary is not None and not dry_run:
        audit_record(
            actor=actor,
            action="reporting.submission_import_xlsx",
            obj=submission,
            unit_code=submission.unit.code,
            details={
                "form": submission.form.code,
                "period": submission.period.code,
                "counts": summary.counts,
            },
        )
    return summary


def _cell_order(cell: str) -> tuple[int, str]:
    """Row then column, so messages read top to bottom."""
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters) :]
    return (int(digits) if digits.isdigit() else 0, letters.rjust(3))
