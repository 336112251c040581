"""Dossiers as dashboards list them, with who holds them and never the applicant: the open dossiers past (or
near) their due moment (``overdue_dossiers``), and any scoped set of dossiers read a page at a time
(``dossier_records``, the records behind an IOC figure). Both read the same columns (``HOLDER_FIELDS``) with
``values()``: a row is a dataclass, not a model, so no template can reach the applicant through it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from hanoismart.dossiers.models import OPEN_STATUSES, Dossier
from hanoismart.dossiers.selectors.rollups import _open, _paused, _scoped
from hanoismart.identity.models import StaffRole

#: The columns of a dossier and of who holds it that a dashboard shows (none of the applicant's).
HOLDER_FIELDS = (
    "code",
    "public_id",
    "procedure__national_code",
    "procedure__name",
    "agency__code",
    "agency__name",
    "unit__code",
    "unit__name",
    "step__name",
    "step__role",
    "assignee__full_name",
    "due_at",
)
#: The records behind a figure show, besides, the dossier's state and moments.
RECORD_FIELDS = (
    *HOLDER_FIELDS,
    "status",
    "timeliness",
    "channel",
    "received_at",
    "finished_at",
    "paused_since",
)


@dataclass
class HeldDossier:
    """A dossier's codes, procedure, place and who holds it (``HOLDER_FIELDS``); no applicant data."""

    code: str
    public_id: uuid.UUID
    procedure_code: str
    procedure_name: str
    agency_code: str
    agency_name: str
    unit_code: str
    unit_name: str
    step_name: str
    holder: str  # the assignee's name, "" when the step's role holds it as a team
    holder_role: str  # the step's role (code), "" without a step
    holder_role_label: str


@dataclass
class LateDossier(HeldDossier):
    """An open dossier past (or near) its due moment and who holds it; no applicant data."""

    due_at: dt.datetime
    overdue_by: dt.timedelta  # negative while not yet due


@dataclass
class DossierRecord(HeldDossier):
    """A dossier behind a figure: codes, procedure, state, moments and who holds it; no applicant data."""

    due_at: dt.datetime | None
    status: str
    status_label: str
    timeliness: str  # "" until finished
    timeliness_label: str
    channel: str
    received_at: dt.datetime | None
    finished_at: dt.datetime | None
    is_overdue: bool  # open, running and past its due moment


def _holder(row: dict[str, Any], roles: dict[str, str]) -> dict[str, Any]:
    """The ``HOLDER_FIELDS`` of a ``values()`` row as the dataclasses' fields."""
    return {
        "code": row["code"],
        "public_id": row["public_id"],
        "procedure_code": row["procedure__national_code"],
        "procedure_name": row["procedure__name"],
        "agency_code": row["agency__code"],
        "agency_name": row["agency__name"],
        "unit_code": row["unit__code"],
        "unit_name": row["unit__name"],
        "step_name": row["step__name"] or "",
        "holder": row["assignee__full_name"] or "",
        "holder_role": row["step__role"] or "",
        "holder_role_label": str(roles.get(row["step__role"], "")),
        "due_at": row["due_at"],
    }


def overdue_dossiers(
    *,
    unit_ids: set[int] | None,
    now: dt.datetime,
    include_due_within_hours: int = 24,
    limit: int = 50,
    unit: str = "",
    agency: str = "",
    field: str = "",
    procedure: str = "",
) -> list[LateDossier]:
    """The running open dossiers due before ``now`` plus ``include_due_within_hours``, most overdue first,
    with who holds them (at most ``limit``). Dossiers waiting for a supplement are left out (their clock
    stands still)."""
    scope = _scoped(
        unit_ids=unit_ids, group_by="", unit=unit, agency=agency, field=field, procedure=procedure
    )
    horizon = now + dt.timedelta(hours=include_due_within_hours)
    rows = (
        Dossier.objects.filter(_open(now), scope, due_at__lt=horizon)
        .exclude(_paused(now))
        .order_by("due_at", "id")
        .values(*HOLDER_FIELDS)[:limit]
    )
    roles = dict(StaffRole.choices)
    return [LateDossier(**_holder(row, roles), overdue_by=now - row["due_at"]) for row in rows]


class DossierRecords:
    """``dossier_records``' answer: counts and slices like a list (what ``Paginator`` needs), reading only
    the slice asked for, as ``DossierRecord`` rows."""

    def __init__(self, rows: QuerySet, now: dt.datetime) -> None:
        self._rows = rows
        self._now = now

    def count(self) -> int:
        return self._rows.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[DossierRecord]:
        if not isinstance(window, slice):
            raise TypeError("DossierRecords reads slices only.")
        roles = dict(StaffRole.choices)
        statuses = dict(Dossier._meta.get_field("status").flatchoices)
        timeliness = dict(Dossier._meta.get_field("timeliness").flatchoices)
        return [self._record(row, roles, statuses, timeliness) for row in self._rows[window]]

    def _record(
        self,
        row: dict[str, Any],
        roles: dict[str, str],
        statuses: dict[str, str],
        timeliness: dict[str, str],
    ) -> DossierRecord:
        is_open = row["status"] in OPEN_STATUSES
        due_at = row["due_at"]
        return DossierRecord(
            **_holder(row, roles),
            status=row["status"],
            status_label=str(statuses.get(row["status"], row["status"])),
            timeliness=row["timeliness"] or "",
            timeliness_label=str(timeliness.get(row["timeliness"], row["timeliness"] or "")),
            channel=row["channel"],
            received_at=row["received_at"],
            finished_at=row["finished_at"],
            is_overdue=is_open and row["paused_since"] is None and due_at is not None and due_at < self._now,
        )


def dossier_records(*, dossiers: QuerySet[Dossier], now: dt.datetime) -> DossierRecords:
    """The dossiers of ``dossiers`` (already scoped and ordered, e.g. by the IOC's ``records_behind``) as
    ``DossierRecord`` rows, read a slice at a time (hand it to a ``Paginator``): the ``RECORD_FIELDS``
    columns only, ``is_overdue`` as of ``now``."""
    return DossierRecords(dossiers.select_related(None).values(*RECORD_FIELDS), now)
