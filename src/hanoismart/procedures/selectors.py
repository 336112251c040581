"""Reads of the procedure catalog: search, detail, fields, and the fee a resident pays by channel and date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Literal

from django.db import models
from django.db.models import Prefetch, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from hanoismart.common.errors import NotFound
from hanoismart.common.text import fold
from hanoismart.procedures.models import Case, Fee, FeeSetter, Field, Procedure

#: From this date Hanoi waives city-council fees for online filing and pays Ministry-of-Finance fees itself.
ONLINE_FEE_RULES_FROM = dt.date(2026, 1, 1)

Channel = Literal["online", "counter"]


@dataclass(frozen=True)
class FeeLine:
    """One fee of a quote: its full amount, and who pays how much of it."""

    name: str
    kind: str
    set_by: str
    amount: int
    resident_pays: int
    city_pays: int
    note: str = ""


@dataclass(frozen=True)
class FeeQuote:
    """What filing a case costs on one channel and date: the resident's part and the city's part."""

    channel: str
    on_date: dt.date
    lines: list[FeeLine] = dataclass_field(default_factory=list)
    postal_return_free: bool = False

    @property
    def resident_pays(self) -> int:
        return sum(line.resident_pays for line in self.lines)

    @property
    def city_pays(self) -> int:
        return sum(line.city_pays for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def fee_for(*, case: Case, channel: Channel, on_date: dt.date) -> FeeQuote:
    """The fees of ``case`` filed on ``channel`` on ``on_date``, under Hanoi's rules from 1 January 2026:
    online, city-council fees are 0 and Ministry-of-Finance fees are paid by the city (the amount is still
    recorded); results returned by post are free of postage. Before that date, everyone pays in full."""
    if channel not in ("online", "counter"):
        raise ValueError(f"unknown channel {channel!r}")
    rules_apply = on_date >= ONLINE_FEE_RULES_FROM
    lines = []
    for fee in case.fees.all():
        resident, city, amount = fee.amount, 0, fee.amount
        if rules_apply and channel == "online":
            if fee.set_by == FeeSetter.CITY_COUNCIL:
                resident, amount = 0, 0
            else:
                resident, city = 0, fee.amount
        lines.append(
            FeeLine(
                name=fee.name,
                kind=fee.kind,
                set_by=fee.set_by,
                amount=amount,
                resident_pays=resident,
                city_pays=city,
                note=fee.note,
            )
        )
    return FeeQuote(channel=channel, on_date=on_date, lines=lines, postal_return_free=rules_apply)


def procedure_search(
    *,
    query: str = "",
    field: str | None = None,
    level: str | None = None,
    subject: str | None = None,
) -> QuerySet[Procedure]:
    """Active procedures matching ``query`` without regard to diacritics: name matches first, then field
    matches (or national/local code), each by popularity; filtered by field code, level and subject."""
    procedures = Procedure.objects.filter(is_active=True).select_related("field")
    if field:
        procedures = procedures.filter(field__code=field)
    if level:
        procedures = procedures.filter(level=level)
    if subject:
        # JSON containment is not on SQLite; a list of short codes is safely matched as quoted text.
        procedures = procedures.filter(subjects__icontains=f'"{subject}"')
    folded = fold(query)
    if not folded:
        return procedures.order_by("-popularity", "name")
    by_name = Q()
    for word in folded.split():
        by_name &= Q(name_folded__contains=word)
    by_code = Q(national_code=query.strip()) | Q(local_code__iexact=query.strip())
    by_field = Q(field__name_folded__contains=folded)
    return (
        procedures.filter(by_name | by_code | by_field)
        .annotate(
            rank=models.Case(
                When(by_code, then=Value(0)),
                When(by_name, then=Value(1)),
                default=Value(2),
                output_field=models.IntegerField(),
            )
        )
        .order_by("rank", "-popularity", "name")
    )


def procedure_detail(*, code: str) -> Procedure:
    """An active procedure by national code, with its cases and everything in them (NotFound otherwise)."""
    cases = Case.objects.prefetch_related(
        Prefetch("fees", queryset=Fee.objects.order_by("id")), "components", "steps"
    )
    procedure = (
        Procedure.objects.filter(national_code=code, is_active=True)
        .select_related("field", "agency")
        .prefetch_related(Prefetch("cases", queryset=cases))
        .first()
    )
    if procedure is None:
        raise NotFound(_("No procedure has this code."))
    return procedure


def field_list(*, level: str | None = None) -> QuerySet[Field]:
    """Every field that has at least one active procedure (at ``level``, when given), by name."""
    procedures = Q(procedures__is_active=True)
    if level:
        procedures &= Q(procedures__level=level)
    return Field.objects.filter(procedures).distinct().order_by("name")
