"""Which reports count now, for given reporters, form and periods: the operations center closes its "report
missing" alerts with it. A selector kept apart from ``selectors`` (a module, not a package) so that it can be
read on its own; not scoped: it returns only codes and ids."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from hanoismart.reporting.models import COUNTED_STATUSES, Submission

#: A reporter's report: (form code, period code, unit id, agency id or None), as the IOC's alerts name it.
ReportKey = tuple[str, str, int, int | None]


def reports_counted(*, wanted: Iterable[ReportKey]) -> set[ReportKey]:
    """Which of ``wanted`` now have a report that counts (submitted, accepted or locked; a draft or a report
    returned for correction does not). An agency's report is matched by agency, a unit's by unit. One query
    (not scoped: the IOC closes its "report missing" alerts with it)."""
    keys = set(wanted)
    if not keys:
        return set()
    units = {unit_id for _f, _p, unit_id, agency_id in keys if agency_id is None}
    agencies = {agency_id for _f, _p, _u, agency_id in keys if agency_id is not None}
    rows = (
        Submission.objects.filter(
            status__in=COUNTED_STATUSES,
            form__code__in={form for form, _p, _u, _a in keys},
            period__code__in={period for _f, period, _u, _a in keys},
        )
        .filter(Q(agency__isnull=True, unit_id__in=units) | Q(agency_id__in=agencies))
        .order_by()
        .values_list("form__code", "period__code", "unit_id", "agency_id")
    )
    found = {(form, period, _reporter_of(unit_id, agency_id)) for form, period, unit_id, agency_id in rows}
    return {key for key in keys if (key[0], key[1], _reporter_of(key[2], key[3])) in found}


def _reporter_of(unit_id: int, agency_id: int | None) -> tuple[str, int]:
    return ("agency", agency_id) if agency_id is not None else ("unit", unit_id)
