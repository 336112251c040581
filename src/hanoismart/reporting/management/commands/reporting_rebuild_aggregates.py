"""`reporting_rebuild_aggregates [--check] [--form CODE]`: recompute every aggregate from the raw values.

With ``--check``, change nothing: list each stored aggregate that differs and exit with status 1 if any does.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser

from hanoismart.reporting.models import Period
from hanoismart.reporting.services import aggregates_rebuild


class Command(BaseCommand):
    help = "Recompute the reporting aggregates from the raw values (--check: only report mismatches)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="report mismatches, change nothing")
        parser.add_argument("--form", default="", help="only this form's periods")

    def handle(self, *args: object, check: bool, form: str, **options: object) -> None:
        periods = Period.objects.select_related("form").order_by("form__code", "end")
        if form:
            periods = periods.filter(form__code=form)
        mismatches = aggregates_rebuild(periods=periods, check_only=check)
        labels = dict(periods.values_list("pk", "code"))
        from hanoismart.directory.models import Unit
        from hanoismart.reporting.models import Indicator

        units = dict(Unit.objects.filter(pk__in={m.unit_id for m in mismatches}).values_list("pk", "code"))
        codes = dict(
            Indicator.objects.filter(pk__in={m.indicator_id for m in mismatches}).values_list("pk", "code")
        )
        for m in mismatches:
            self.stdout.write(
                f"{labels.get(m.period_id)} unit {units.get(m.unit_id)} {codes.get(m.indicator_id)}"
                f"[{m.disaggregation}]: stored {m.stored}, expected {m.expected}"
            )
        verb = "found" if check else "repaired"
        self.stdout.write(f"{len(mismatches)} mismatches {verb} over {periods.count()} periods.")
        if check and mismatches:
            sys.exit(1)
