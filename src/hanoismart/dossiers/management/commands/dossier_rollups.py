"""`dossier_rollups --rebuild | --check [--from DAY] [--to DAY]`: the daily dossier roll-ups (and their agency
and month rows, the sums over the procedures and over the month) from scratch, and the open stocks (now,
whatever the days).

``--rebuild`` replaces the rows of the days in ``[--from, --to)`` (default: every day) with their
recomputation from the dossier rows; ``--check`` changes nothing, lists each stored figure that differs from
the recomputation and exits with status 1 if any does. Both: rebuild, then check.
"""

from __future__ import annotations

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hanoismart.directory.models import Agency, Unit
from hanoismart.dossiers.services.rollups import Mismatch, rollups_check, rollups_rebuild
from hanoismart.procedures.models import Procedure


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a day (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = "Rebuild the daily dossier roll-ups from the dossier rows, or check them (exit 1 on a mismatch)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="recompute the rows from the dossiers")
        parser.add_argument("--check", action="store_true", help="list mismatches, change nothing")
        parser.add_argument("--from", dest="date_from", type=_day, default=None, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", type=_day, default=None, help="day after the last")
        parser.add_argument("--limit", type=int, default=1000, help="compare out at most this many rows")

    def handle(
        self,
        *args: object,
        rebuild: bool,
        check: bool,
        date_from: dt.date | None,
        date_to: dt.date | None,
        limit: int,
        **options: object,
    ) -> None:
        if not (rebuild or check):
            raise CommandError("Give --rebuild, --check or both.")
        if date_from and date_to and date_from >= date_to:
            raise CommandError("--to must be after --from.")
        span = f"{date_from or 'the first day'} to {date_to or 'the last day'}"
        if rebuild:
            rows = rollups_rebuild(date_from=date_from, date_to=date_to)
            self.stdout.write(f"{rows} roll-up rows rebuilt from {span}.")
        if check:
            mismatches = rollups_check(date_from=date_from, date_to=date_to, limit=limit)
            for line in self._lines(mismatches):
                self.stdout.write(line)
            self.stdout.write(f"{len(mismatches)} mismatches from {span}.")
            if mismatches:
                sys.exit(1)

    def _lines(self, mismatches: list[Mismatch]) -> list[str]:
        units = dict(
            Unit.objects.filter(pk__in={m.key.unit_id for m in mismatches}).values_list("pk", "code")
        )
        agencies = dict(
            Agency.objects.filter(pk__in={m.key.agency_id for m in mismatches}).values_list("pk", "code")
        )
        procedures = dict(
            Procedure.objects.filter(pk__in={m.key.procedure_id for m in mismatches}).values_list(
                "pk", "national_code"
            )
        )
        kinds = {
            "month": "(month: agency row)",
            "stock M": "open stock due that month",
            "stock D": "open stock due that day",
        }
        return [
            f"{m.key.day} unit {units.get(m.key.unit_id)} agency {agencies.get(m.key.agency_id)} "
            + (
                kinds[m.kind]
                if m.kind
                else f"procedure {procedures.get(m.key.procedure_id, '(all: agency row)')}"
            )
            + f" {m.figure}: stored {m.stored}, expected {m.expected}"
            for m in mismatches
        ]
