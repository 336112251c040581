"""Where given dossiers' clocks stand now — still open or not, waiting for a supplement or not, their due
moment — read in one query per few thousand dossiers. The operations center calls it to close the alerts of
dossiers that are no longer overdue (not scoped: it reads no applicant data)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from hanoismart.dossiers.models import OPEN_STATUSES, Dossier
from hanoismart.dossiers.selectors.rollups import DueDossier

#: Public ids read per query (well below SQLite's limit of bound parameters).
BATCH = 2000


@dataclass(frozen=True)
class DossierClock(DueDossier):
    """One dossier's status and clock, with what an overdue alert is raised from (``DueDossier``)."""

    status: str
    paused_since: dt.datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.paused_since is not None


def dossier_clocks(*, public_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DossierClock]:
    """The clocks of the dossiers with these public ids, by public id (ids of no dossier are left out); one
    query per ``BATCH`` ids."""
    wanted = sorted(set(public_ids))
    found: dict[uuid.UUID, DossierClock] = {}
    for start in range(0, len(wanted), BATCH):
        rows = (
            Dossier.objects.filter(public_id__in=wanted[start : start + BATCH])
            .order_by()
            .values_list(
                "id",
                "public_id",
                "code",
                "unit_id",
                "agency_id",
                "procedure__name",
                "due_at",
                "assignee_id",
                "status",
                "paused_since",
            )
        )
        for row in rows:
            clock = DossierClock(*row)
            found[clock.public_id] = clock
    return found
