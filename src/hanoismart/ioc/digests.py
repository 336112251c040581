"""The leaders' digest: a summary of a unit (or the city) over the day, ISO week or month just past — the
overview's KPIs with the period before and their targets, the Decision 766 groups, the wards and agencies
ranked by the index, late dossiers with the procedures that have most of them, and reporting completeness —
sent to subscribers through the outbox with links to download it as PDF and Excel (``digest.py`` renders).

Every number comes from the IOC's own selectors (``overview``, ``rankings``, ``kpi_breakdown``) for the same
period and moment, so the digest shows exactly what the dashboard shows; stocks (in progress, overdue, late
reports) are as of when the digest is made. A digest is built for the actor who receives it, within their
scope: a ward's leader gets their ward, a city manager the city or any ward.

Sending is idempotent: a subscription remembers the day it was last sent (``last_sent_on``), and is due when
its latest period ended after that day; the message's dedupe key names the subscription and the period.
The outbox carries no attachments, so the message links to the download (``/ioc/digest/``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import dateformat, formats, numberformat, timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import ApplicationError, InvalidInput
from hanoismart.directory.models import Unit
from hanoismart.ioc.models import DigestFrequency, DigestSubscription
from hanoismart.ioc.selectors import (
    IocScope,
    Overview,
    RankingRow,
    Tile,
    ioc_scope,
    kpi_breakdown,
    overview,
    rankings,
    scope_for,
    scope_unit,
)
from hanoismart.ioc.services.subscriptions import own_subscription_delete
from hanoismart.notifications.models import Channel
from hanoismart.notifications.services import message_send

logger = logging.getLogger(__name__)

DIGEST_TEMPLATE = "ioc.digest"
#: How many procedures with late dossiers the digest lists.
TOP_PROCEDURES = 10
#: The channels a digest goes out on: the in-app inbox and, when the account has an address, email.
DIGEST_CHANNELS = (Channel.IN_APP, Channel.EMAIL)
FORMATS = ("pdf", "xlsx")
#: The KPIs the message itself quotes (the files hold them all).
HEADLINE_KPIS = ("received", "finished", "on_time_rate", "overdue", "index_766", "reporting_completeness")


@dataclass(frozen=True)
class LateProcedure:
    """A procedure with late dossiers: finished late in the period, and open past their due time now."""

    code: str
    name: str
    finished_late: int
    overdue: int

    @property
    def total(self) -> int:
        return self.finished_late + self.overdue


@dataclass
class Digest:
    """What one digest shows (``digest.py`` renders it as PDF or Excel)."""

    unit: Unit | None  # None: the city
    unit_name: str
    frequency: str
    today: dt.date  # the day it was made for: the period is the one that ended by then
    date_from: dt.date
    date_to: dt.date  # [date_from, date_to)
    overview: Overview
    wards: list[RankingRow]  # every ward in the recipient's scope, best first
    agencies: list[RankingRow]  # every agency with figures, best first
    late_procedures: list[LateProcedure]  # most late first, at most TOP_PROCEDURES
    generated_at: dt.datetime

    @property
    def unit_code(self) -> str:
        return self.unit.code if self.unit else ""

    def tile(self, code: str) -> Tile:
        """The overview's tile of the KPI ``code``."""
        return next(tile for tile in self.overview.tiles if tile.kpi.code == code)


def digest_period(*, frequency: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """``[date_from, date_to)`` of the period a digest made on ``today`` covers: the previous day, the
    previous ISO week (Monday to Sunday) or the previous calendar month. ``InvalidInput`` for an unknown
    frequency."""
    if frequency == DigestFrequency.DAILY:
        return today - dt.timedelta(days=1), today
    if frequency == DigestFrequency.WEEKLY:
        monday = today - dt.timedelta(days=today.weekday())
        return monday - dt.timedelta(days=7), monday
    if frequency == DigestFrequency.MONTHLY:
        first = today.replace(day=1)
        return (first - dt.timedelta(days=1)).replace(day=1), first
    raise _unknown_frequency()


def _unknown_frequency() -> InvalidInput:
    choices = ", ".join(DigestFrequency.values)
    return InvalidInput(
        _("Unknown frequency."),
        details={"frequency": [_("Choose one of: %(choices)s.") % {"choices": choices}]},
    )


def period_label(*, frequency: str, date_from: dt.date, date_to: dt.date) -> str:
    """The period in words, in the active language: a day, an ISO week with its dates, or a month."""
    last = date_to - dt.timedelta(days=1)
    if frequency == DigestFrequency.DAILY:
        return dateformat.format(date_from, "d/m/Y")
    if frequency == DigestFrequency.WEEKLY:
        year, week, _weekday = date_from.isocalendar()
        return _("week %(week)s of %(year)s (%(start)s – %(end)s)") % {
            "week": week,
            "year": year,
            "start": dateformat.format(date_from, "d/m/Y"),
            "end": dateformat.format(last, "d/m/Y"),
        }
    return _("month %(month)s/%(year)s") % {"month": f"{date_from.month:02d}", "year": date_from.year}


def _late_procedures(
    *, actor: Any, scope: IocScope, unit: str, date_from: dt.date, date_to: dt.date, now: dt.datetime
) -> list[LateProcedure]:
    """The procedures with most late dossiers: finished late in the period (the on-time rate's breakdown)
    plus open past due now (the overdue breakdown)."""
    finished = kpi_breakdown(
        actor=actor,
        scope=scope,
        kpi="on_time_rate",
        unit=unit,
        date_from=date_from,
        date_to=date_to,
        group_by="procedure",
        now=now,
    )
    overdue = kpi_breakdown(actor=actor, scope=scope, kpi="overdue", unit=unit, group_by="procedure", now=now)
    found: dict[str, list[Any]] = {}
    for row in finished.rows:
        found[row.key] = [row.label, row.figures.get("finished_late", 0), 0]
    for row in overdue.rows:
        found.setdefault(row.key, [row.label, 0, 0])[2] = int(row.value or 0)
    late = [
        LateProcedure(code=code, name=name, finished_late=finished_late, overdue=open_overdue)
        for code, (name, finished_late, open_overdue) in found.items()
        if finished_late or open_overdue
    ]
    late.sort(key=lambda item: (-item.total, -item.overdue, item.code))
    return late[:TOP_PROCEDURES]


def digest_build(
    *,
    actor: Any,
    scope: IocScope | None = None,
    unit: str = "",
    frequency: str,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Digest:
    """The digest of ``unit`` (a unit code; empty: the actor's default, the city for city-level staff) for
    the period before ``today`` (default: today) given by ``frequency``, as ``actor`` may see it (stocks as
    of ``now``; ``scope``: the actor's, when the caller has it). ``PermissionDenied`` without
    ``ioc:dashboard:view`` or outside the actor's scope, ``InvalidInput`` for an unknown frequency or unit,
    or a day in the future."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    if today > timezone.localdate(now):
        raise InvalidInput(
            _("A digest covers a period that has ended."),
            details={"on": [_("Choose today or an earlier day.")]},
        )
    date_from, date_to = digest_period(frequency=frequency, today=today)
    scope = scope_for(actor=actor, scope=scope)
    found = overview(actor=actor, scope=scope, unit=unit, date_from=date_from, date_to=date_to, now=now)
    code = found.unit.code if found.unit else ""
    if found.unit is not None:
        unit_name = found.unit.name
    else:  # the whole city: the scope's default unit is the city itself
        city = scope.default_unit
        unit_name = city.name if city else _("The whole city")
    return Digest(
        unit=found.unit,
        unit_name=unit_name,
        frequency=frequency,
        today=today,
        date_from=date_from,
        date_to=date_to,
        overview=found,
        wards=rankings(actor=actor, scope=scope, level="ward", date_from=date_from, date_to=date_to, now=now),
        agencies=rankings(
            actor=actor, scope=scope, level="agency", date_from=date_from, date_to=date_to, now=now
        ),
        late_procedures=_late_procedures(
            actor=actor, scope=scope, unit=code, date_from=date_from, date_to=date_to, now=now
        ),
        generated_at=now,
    )


def digest_url(*, unit: str, frequency: str, today: dt.date, fmt: str) -> str:
    """The absolute link that downloads a digest (the one made on ``today``) as ``fmt`` (pdf or xlsx)."""
    query = {"frequency": frequency, "format": fmt, "on": today.isoformat()}
    if unit:
        query = {"unit": unit, **query}
    return f"{settings.SITE_URL.rstrip('/')}{reverse('ioc_digest:download')}?{urlencode(query)}"


# -- subscriptions ------------------------------------------------------------------------------------------


def _frequency(frequency: str) -> str:
    if frequency not in DigestFrequency.values:
        raise _unknown_frequency()
    return frequency


def digest_subscribe(*, actor: Any, unit: str = "", frequency: str) -> DigestSubscription:
    """Subscribe ``actor`` to the digest of ``unit`` (a unit code; empty: their default unit, the city for
    city-level staff) every day, week or month; subscribing again to the same unit and frequency turns it
    back on. ``PermissionDenied`` outside the actor's IOC scope, ``InvalidInput`` for a bad frequency or
    unit."""
    frequency = _frequency(frequency)
    scope = ioc_scope(actor=actor)  # PermissionDenied without ioc:dashboard:view
    target = scope_unit(scope, unit) if unit else None
    with transaction.atomic():
        subscription, _created = DigestSubscription.objects.update_or_create(
            user=actor, unit=target, frequency=frequency, defaults={"is_active": True}
        )
        audit_record(
            actor=actor,
            action="ioc.digest_subscribe",
            obj=subscription,
            unit_code=target.code if target else "",
            details={"frequency": frequency},
        )
    return subscription


def digest_unsubscribe(*, actor: Any, subscription_id: int) -> None:
    """Stop one of the actor's own digests; ``NotAuthenticated`` without a signed-in actor, ``NotFound`` for
    anyone else's (which stays as it was)."""
    own_subscription_delete(
        model=DigestSubscription,
        actor=actor,
        subscription_id=subscription_id,
        action="ioc.digest_unsubscribe",
        fields=["frequency", "unit"],
    )


def digest_subscriptions_for(*, actor: Any) -> list[DigestSubscription]:
    """The actor's digests: those of their default unit first, then by unit name; by frequency."""
    if actor is None or not actor.is_authenticated:
        return []
    return list(
        DigestSubscription.objects.filter(user=actor)
        .select_related("unit")
        .order_by(F("unit__name").asc(nulls_first=True), "frequency", "pk")
    )


# -- sending ------------------------------------------------------------------------------------------------


def _language(user: Any) -> str:
    """The account's language when it has one we speak, else Vietnamese."""
    language = getattr(user, "preferred_language", "")
    return language if language in {code for code, _name in settings.LANGUAGES} else "vi"


def format_value(value: float | int | None, measure: str) -> str:
    """A KPI value as a reader expects it in the active language: counts grouped, rates with one decimal
    and a per cent sign, points and scores with one or two decimals; "—" for nothing to measure."""
    if value is None:
        return "—"
    places = {"count": 0, "percent": 1, "points": 2}.get(measure, 1)
    # Grouped by thousands whatever the locale's NUMBER_GROUPING (Vietnamese sets none): 12.345, 12,345.
    text = numberformat.format(
        int(value) if measure == "count" else value,
        formats.get_format("DECIMAL_SEPARATOR"),
        places,
        grouping=3,
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )
    return f"{text} %" if measure == "percent" else text


def _message_context(digest: Digest) -> dict[str, Any]:
    unit = digest.unit_code
    return {
        "unit_name": digest.unit_name,
        "period_label": period_label(
            frequency=digest.frequency, date_from=digest.date_from, date_to=digest.date_to
        ),
        "frequency": digest.frequency,
        "headlines": [
            (str(tile.kpi.label), format_value(tile.value, tile.kpi.measure))
            for tile in (digest.tile(code) for code in HEADLINE_KPIS)
        ],
        "pdf_url": digest_url(unit=unit, frequency=digest.frequency, today=digest.today, fmt="pdf"),
        "xlsx_url": digest_url(unit=unit, frequency=digest.frequency, today=digest.today, fmt="xlsx"),
    }


def _send_one(subscription_id: int, *, today: dt.date, now: dt.datetime) -> bool:
    """Send one subscription's digest unless already sent for its period (checked under its row lock)."""
    with transaction.atomic():
        subscription = (
            DigestSubscription.objects.select_for_update(of=("self",))
            .select_related("user", "unit")
            .filter(pk=subscription_id, is_active=True)
            .first()
        )
        if subscription is None:
            return False
        _date_from, date_to = digest_period(frequency=subscription.frequency, today=today)
        if subscription.last_sent_on is not None and subscription.last_sent_on >= date_to:
            return False
        user = subscription.user
        language = _language(user)
        with translation.override(language):
            digest = digest_build(
                actor=user,
                unit=subscription.unit.code if subscription.unit else "",
                frequency=subscription.frequency,
                today=today,
                now=now,
            )
            context = _message_context(digest)
        message_send(
            recipient=user,
            template=DIGEST_TEMPLATE,
            context=context,
            channels=list(DIGEST_CHANNELS),
            dedupe_key=f"{DIGEST_TEMPLATE}:{subscription.pk}:{subscription.frequency}:{date_to.isoformat()}",
            language=language,
        )
        subscription.last_sent_on = today
        subscription.save(update_fields=["last_sent_on"])
    return True


def digest_send_due(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Send every active subscription's digest whose period ended since it was last sent (each once: see the
    module's docstring); returns how many were sent. A subscriber who may no longer see the unit (a leader
    who moved on) is skipped and logged, not failed, and is tried again next time."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    sent = 0
    due = DigestSubscription.objects.filter(is_active=True, user__is_active=True).order_by("pk")
    for subscription in due.only("pk", "frequency", "last_sent_on"):
        _date_from, date_to = digest_period(frequency=subscription.frequency, today=today)
        if subscription.last_sent_on is not None and subscription.last_sent_on >= date_to:
            continue
        try:
            sent += _send_one(subscription.pk, today=today, now=now)
        except ApplicationError as error:
            logger.warning("Digest subscription %s not sent: %s", subscription.pk, error)
    return sent
