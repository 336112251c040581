"""GET /api/v1/dossiers/stats: dossier statistics and the Decision 766/QĐ-TTg index (``selectors.stats``).

Mounted before the dossiers router so that ``/dossiers/stats`` is not read as a dossier code. A session or a
bearer token with ``dossiers.read``; what is counted follows the caller's staff positions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from hanoismart.dossiers.selectors.stats import dossier_stats
from hanoismart.identity.api_auth import token_or_session

router = Router(tags=["dossiers"])


class StatsFilters(Schema):
    date_from: dt.date | None = Field(
        None, alias="from", description="First day counted (default: 365 days before `to`)."
    )
    date_to: dt.date | None = Field(
        None, alias="to", description="Day after the last day counted (default: tomorrow, so today counts)."
    )
    unit: str = Field("", pattern=r"^[0-9]{0,10}$", description="Code of a ward, commune or the city.")
    agency: str = Field("", pattern=r"^[A-Za-z0-9.]{0,40}$", description="Electronic code of an agency.")
    field: str = Field("", pattern=r"^[A-Za-z0-9_\-]{0,40}$", description="Code of a field (lĩnh vực).")
    procedure: str = Field("", pattern=r"^([0-9]\.[0-9]{6})?$", description="National procedure code.")
    group_by: Literal["", "unit", "agency", "field", "procedure"] = ""


class IndexGroupOut(Schema):
    code: str
    name: str
    max_points: int
    points: float | None = Field(..., description="Points earned; null when nothing could be measured.")


class StatsRowOut(Schema):
    key: str = Field(..., description="The group's code (empty for the total).")
    label: str
    figures: dict[str, int]
    rates: dict[str, float | None] = Field(..., description="Percentages (null when nothing to divide by).")
    index: list[IndexGroupOut]
    score: float | None = Field(..., description="Decision 766 index out of 100.")


class StatsOut(Schema):
    date_from: dt.date = Field(..., serialization_alias="from")
    date_to: dt.date = Field(..., serialization_alias="to")
    group_by: str
    total: StatsRowOut
    groups: list[StatsRowOut]


@router.get(
    "/dossiers/stats",
    response=StatsOut,
    auth=token_or_session("dossiers.read"),
    by_alias=True,
    summary="Dossier statistics and the Decision 766 index",
)
def dossiers_stats(request: HttpRequest, filters: Query[StatsFilters]) -> dict[str, Any]:
    """Received, carried over, in progress, finished early/on time/late, overdue, online and fully-online,
    digitisation and reuse, satisfaction and payments for ``[from, to)``, optionally filtered and grouped,
    with the five groups of Decision 766/QĐ-TTg scored to 100 (docs/statistics.md)."""
    date_to = filters.date_to or timezone.localdate() + dt.timedelta(days=1)
    date_from = filters.date_from or date_to - dt.timedelta(days=365)
    report = dossier_stats(
        actor=request.user,
        date_from=date_from,
        date_to=date_to,
        unit=filters.unit,
        agency=filters.agency,
        field=filters.field,
        procedure=filters.procedure,
        group_by=filters.group_by,
    )
    return asdict(report)
