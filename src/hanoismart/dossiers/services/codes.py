"""Dossier codes ``{agency code}-{yyMMdd}-{nnnn}``: a daily sequence per agency, without gaps or duplicates.

The number is taken by an UPDATE … SET last_number = last_number + 1 inside the caller's transaction: on
PostgreSQL the row lock makes concurrent filings to one agency wait for each other's commit, on SQLite the
write lock does; a rolled-back filing rolls its number back too, so numbers stay consecutive.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from hanoismart.dossiers.models import DossierCodeSequence


def dossier_code_allocate(*, agency_code: str, on_date: dt.date) -> str:
    """The next code of ``agency_code`` on ``on_date``; call inside the transaction that saves the dossier."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("dossier_code_allocate must run inside the filing's transaction.")
    sequence, _ = DossierCodeSequence.objects.get_or_create(agency_code=agency_code, day=on_date)
    DossierCodeSequence.objects.filter(pk=sequence.pk).update(last_number=F("last_number") + 1)
    number = DossierCodeSequence.objects.values_list("last_number", flat=True).get(pk=sequence.pk)
    return f"{agency_code}-{on_date:%y%m%d}-{number:04d}"
