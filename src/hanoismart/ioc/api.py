"""The operations center's API at /api/v1/ioc/: the overview's KPI tiles, a KPI broken down, the Decision 766
rankings, the alerts feed and actions on alerts, and live updates (a token to poll, or server-sent events).

A session or a bearer token: reads need the scope ``dossiers.read``, alert actions ``dossiers.write`` (the
IOC reads dossier figures; no scope of its own yet). What a caller sees follows their staff positions: city
managers, leaders and operators of the city see the city, a ward's leader their ward (``ioc:dashboard:view``).
docs/ioc.md describes each figure.
"""

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from hanoismart.common.errors import ApplicationError
from hanoismart.common.pagination import PageNumber
from hanoismart.identity.api_auth import token_or_session
from hanoismart.ioc import selectors
from hanoismart.ioc.models import Alert
from hanoismart.ioc.services import alert_act, alerts_detect_if_stale

router = Router(tags=["ioc"])

READ = token_or_session("dossiers.read")
WRITE = token_or_session("dossiers.write")

#: A stream lasts this long, then tells the browser to reconnect (EventSource does so by itself).
STREAM_SECONDS = 60.0
#: How often a stream reads the live token.
STREAM_POLL_SECONDS = 1.0
#: The reconnection delay the stream asks for (milliseconds).
STREAM_RETRY_MS = 1000

_UNIT = r"^[0-9]{0,10}$"


# -- schemas ------------------------------------------------------------------------------------------------


class PeriodFilters(Schema):
    unit: str = Field("", pattern=_UNIT, description="Code of a ward or commune, or of the city (default).")
    date_from: dt.date | None = Field(
        None, alias="from", description="First day (default: this month's 1st)."
    )
    date_to: dt.date | None = Field(
        None, alias="to", description="Day after the last day (default: tomorrow, so today counts)."
    )


class BreakdownFilters(PeriodFilters):
    group_by: Literal["unit", "agency", "field", "procedure", "day", "month"] = Field(
        "unit",
        description="unit: the city's wards (or a ward's agencies); the others group the unit's records.",
    )


class RankingFilters(Schema):
    index: Literal["766"] = "766"
    level: Literal["ward", "agency"] = "ward"
    date_from: dt.date | None = Field(None, alias="from")
    date_to: dt.date | None = Field(None, alias="to")


class AlertFilters(Schema):
    state: Literal["", "new", "acknowledged", "resolved"] = ""
    kind: Literal["", "dossier_overdue", "report_late", "threshold"] = ""
    unit: str = Field("", pattern=_UNIT)


class LiveFilters(Schema):
    unit: str = Field("", pattern=_UNIT)
    token: str = Field("", max_length=64, description="The token last seen: 204 when nothing changed.")


class StreamFilters(Schema):
    unit: str = Field("", pattern=_UNIT)


class UnitOut(Schema):
    code: str
    name: str


class KpiOut(Schema):
    code: str
    label: str
    measure: str = Field(..., description="count, percent, points (0-18) or score (0-100).")
    higher_is_better: bool
    source: str
    description: str


class TrendPointOut(Schema):
    label: str = Field(..., description="A day (YYYY-MM-DD) or a month (YYYY-MM).")
    value: float | None


class TileOut(Schema):
    kpi: KpiOut
    value: float | None = Field(..., description="null when there is nothing to measure.")
    previous: float | None = Field(..., description="The same-length period just before.")
    trend: list[TrendPointOut]
    target: float | None
    status: str = Field(..., description="good, warning, bad, or empty without a target.")
    link: str = Field(..., description="The page that breaks this figure down.")


class IndexGroupOut(Schema):
    code: str
    name: str
    max_points: int
    points: float | None


class OverviewOut(Schema):
    unit: UnitOut | None = Field(..., description="null: the whole city.")
    date_from: dt.date = Field(..., serialization_alias="from")
    date_to: dt.date = Field(..., serialization_alias="to")
    tiles: list[TileOut]
    index_groups: list[IndexGroupOut]
    figures: dict[str, int] = Field(..., description="The raw figures the tiles were computed from.")
    generated_at: dt.datetime


class BreakdownRowOut(Schema):
    key: str
    label: str
    value: float | None
    figures: dict[str, int]
    link: str = Field(..., description="One level down, or the records behind the figure.")


class BreakdownOut(Schema):
    kpi: KpiOut
    group_by: str
    unit: UnitOut | None
    date_from: dt.date = Field(..., serialization_alias="from")
    date_to: dt.date = Field(..., serialization_alias="to")
    total: float | None
    rows: list[BreakdownRowOut]


class RankingRowOut(Schema):
    rank: int
    key: str
    label: str
    score: float | None
    groups: list[IndexGroupOut]
    figures: dict[str, int]


class PersonOut(Schema):
    id: uuid.UUID
    name: str


class AlertEventOut(Schema):
    at: dt.datetime
    action: str
    actor: PersonOut | None
    note: str


class AlertOut(Schema):
    id: uuid.UUID
    kind: str
    state: str
    title: str
    unit: UnitOut | None
    agency: UnitOut | None
    owner: PersonOut | None
    params: dict[str, Any]
    link: str
    raised_at: dt.datetime
    resolved_at: dt.datetime | None
    updated_at: dt.datetime


class AlertDetailOut(AlertOut):
    events: list[AlertEventOut]


class ActionIn(Schema):
    note: str = Field("", max_length=2000)
    owner: uuid.UUID | None = Field(None, description="For assign: the new owner (default: the caller).")


class LiveOut(Schema):
    token: str
    tiles: list[TileOut]
    generated_at: dt.datetime


class ErrorOut(Schema):
    code: str
    detail: str


# -- conversions --------------------------------------------------------------------------------------------


def _unit(unit: Any) -> dict[str, str] | None:
    return None if unit is None else {"code": unit.code, "name": unit.name}


def _person(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.public_id, "name": str(user)}


def _kpi(kpi: Any) -> dict[str, Any]:
    return {
        "code": kpi.code,
        "label": str(kpi.label),
        "measure": kpi.measure,
        "higher_is_better": kpi.higher_is_better,
        "source": kpi.source,
        "description": str(kpi.description),
    }


def _tile(tile: selectors.Tile) -> dict[str, Any]:
    return {
        "kpi": _kpi(tile.kpi),
        "value": tile.value,
        "previous": tile.previous,
        "trend": [{"label": label, "value": value} for label, value in tile.trend],
        "target": tile.target,
        "status": tile.status,
        "link": tile.link,
    }


def _groups(groups: list) -> list[dict[str, Any]]:
    return [
        {"code": g.code, "name": str(g.name), "max_points": g.max_points, "points": g.points} for g in groups
    ]


def _alert(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.public_id,
        "kind": alert.kind,
        "state": alert.state,
        "title": selectors.alert_title(alert),
        "unit": _unit(alert.unit),
        "agency": _unit(alert.agency) if alert.agency_id else None,
        "owner": _person(alert.owner),
        "params": alert.params,
        "link": alert.link,
        "raised_at": alert.raised_at,
        "resolved_at": alert.resolved_at,
        "updated_at": alert.updated_at,
    }


def _alert_detail(alert: Alert) -> dict[str, Any]:
    events = getattr(alert, "timeline", None)
    if events is None:
        events = list(alert.events.select_related("actor").order_by("at", "id"))
    return {
        **_alert(alert),
        "events": [
            {"at": e.at, "action": e.action, "actor": _person(e.actor), "note": e.note} for e in events
        ],
    }


# -- figures ------------------------------------------------------------------------------------------------


@router.get("/ioc/overview", response=OverviewOut, auth=READ, by_alias=True, summary="The KPI overview")
def overview(request: HttpRequest, filters: Query[PeriodFilters]) -> dict[str, Any]:
    """The KPI tiles of the city or a ward for ``[from, to)`` (default: this month so far): value, the
    same-length period before, trend, target, status and a link to the breakdown; the Decision 766 groups;
    the raw figures behind them."""
    found = selectors.overview(
        actor=request.user, unit=filters.unit, date_from=filters.date_from, date_to=filters.date_to
    )
    return {
        "unit": _unit(found.unit),
        "date_from": found.date_from,
        "date_to": found.date_to,
        "tiles": [_tile(tile) for tile in found.tiles],
        "index_groups": _groups(found.index_groups),
        "figures": found.figures,
        "generated_at": found.generated_at,
    }


@router.get(
    "/ioc/kpis/{kpi}",
    response={200: BreakdownOut, 404: ErrorOut},
    auth=READ,
    by_alias=True,
    summary="One KPI broken down",
)
def kpi_breakdown(request: HttpRequest, kpi: str, filters: Query[BreakdownFilters]) -> Any:
    """A KPI by the city's wards (or a ward's agencies), by agency, field, procedure, day or month; each row
    links one level down or to the records behind it. 404 for an unknown KPI."""
    found = selectors.kpi_breakdown(
        actor=request.user,
        kpi=kpi,
        unit=filters.unit,
        date_from=filters.date_from,
        date_to=filters.date_to,
        group_by=filters.group_by,
    )
    return {
        "kpi": _kpi(found.kpi),
        "group_by": found.group_by,
        "unit": _unit(found.unit),
        "date_from": found.date_from,
        "date_to": found.date_to,
        "total": found.total,
        "rows": [
            {"key": r.key, "label": r.label, "value": r.value, "figures": r.figures, "link": r.link}
            for r in found.rows
        ],
    }


@router.get("/ioc/rankings", response=list[RankingRowOut], auth=READ, summary="Decision 766 rankings")
def rankings(request: HttpRequest, filters: Query[RankingFilters]) -> list[dict[str, Any]]:
    """Wards or agencies ranked by the Decision 766 index (five groups, 100 points), best first."""
    rows = selectors.rankings(
        actor=request.user,
        index=filters.index,
        level=filters.level,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    return [
        {
            "rank": r.rank,
            "key": r.key,
            "label": r.label,
            "score": r.score,
            "groups": _groups(r.groups),
            "figures": r.figures,
        }
        for r in rows
    ]


# -- alerts -------------------------------------------------------------------------------------------------


@router.get("/ioc/alerts", response=list[AlertOut], auth=READ, summary="The alerts feed")
@paginate(PageNumber)
def alerts(request: HttpRequest, filters: Query[AlertFilters]) -> Any:
    """Alerts in the caller's scope, newest first, filtered by state, kind and unit."""
    found = selectors.alerts_for(
        actor=request.user, state=filters.state, kind=filters.kind, unit=filters.unit
    )
    return _AlertPage(found)


class _AlertPage:
    """A queryset-like view of alerts that the paginator slices, rendered as ``AlertOut`` dicts."""

    def __init__(self, queryset: Any):
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [_alert(alert) for alert in self.queryset[window]]


@router.get(
    "/ioc/alerts/{public_id}",
    response={200: AlertDetailOut, 404: ErrorOut},
    auth=READ,
    summary="One alert and its timeline",
)
def alert_detail(request: HttpRequest, public_id: uuid.UUID) -> Any:
    return _alert_detail(selectors.alert_get(actor=request.user, public_id=public_id))


@router.post(
    "/ioc/alerts/{public_id}/actions/{action}",
    response={200: AlertDetailOut, 404: ErrorOut},
    auth=WRITE,
    summary="Act on an alert",
)
def alert_action(
    request: HttpRequest,
    public_id: uuid.UUID,
    action: Literal["acknowledge", "assign", "resolve", "reopen", "comment"],
    payload: ActionIn | None = None,
) -> Any:
    """acknowledge, assign (to ``owner``, default the caller), resolve, reopen, comment (``note``); each
    leaves a line on the alert's timeline."""
    payload = payload or ActionIn()
    scope = selectors.ioc_scope(actor=request.user)
    alert = selectors.alert_get(actor=request.user, scope=scope, public_id=public_id)
    alert_act(actor=request.user, alert=alert, action=action, note=payload.note, owner=payload.owner)
    return _alert_detail(selectors.alert_get(actor=request.user, scope=scope, public_id=public_id))


# -- live ---------------------------------------------------------------------------------------------------


@router.get(
    "/ioc/live",
    response={200: LiveOut, 204: None},
    auth=READ,
    summary="Live token and tiles",
)
def live(request: HttpRequest, filters: Query[LiveFilters]) -> Any:
    """The overview's tiles with a token that changes whenever a figure or the alerts feed would; give the
    token last seen as ``token`` to get 204 while nothing changed. Runs the alert detection first when its
    last run is older than two seconds."""
    scope = selectors.ioc_scope(actor=request.user)  # refuse before detecting anything; read once
    alerts_detect_if_stale()
    token = selectors.live_token(actor=request.user, scope=scope, unit=filters.unit)
    if filters.token and filters.token == token:
        return Status(204, None)
    found = selectors.overview(actor=request.user, scope=scope, unit=filters.unit)
    return {
        "token": token,
        "tiles": [_tile(tile) for tile in found.tiles],
        "generated_at": found.generated_at,
    }


def _release_connection() -> None:
    """Give the database connection back while the stream waits (inside a test's transaction it stays)."""
    if not connection.in_atomic_block:
        connection.close()


def _poll(actor: Any, unit: str) -> str | None:
    """The live token now (after a detection if due), or None when the caller may no longer see it: the
    scope is read again at every poll, so a leader removed from a post loses the stream at once."""
    try:
        alerts_detect_if_stale()
        return selectors.live_token(actor=actor, unit=unit)
    except ApplicationError:
        return None
    finally:
        _release_connection()


def _event(token: str) -> str:
    return f"event: token\ndata: {json.dumps({'token': token})}\n\n"


_CLOSE = f"event: close\ndata: {{}}\nretry: {STREAM_RETRY_MS}\n\n"


def _stream(actor: Any, unit: str) -> Iterator[str]:
    """Under WSGI: one event now and one whenever the token changes, polled every second, for a minute."""
    yield f"retry: {STREAM_RETRY_MS}\n\n"
    deadline = time.monotonic() + STREAM_SECONDS
    last = None
    while True:
        token = _poll(actor, unit)
        if token is None:
            break
        if token != last:
            last = token
            yield _event(token)
        if time.monotonic() >= deadline:
            break
        time.sleep(STREAM_POLL_SECONDS)
    yield _CLOSE


async def _stream_async(actor: Any, unit: str) -> AsyncIterator[str]:
    """The same under ASGI, without holding a thread (or a connection) while it waits."""
    poll = sync_to_async(_poll, thread_sensitive=False)
    yield f"retry: {STREAM_RETRY_MS}\n\n"
    deadline = time.monotonic() + STREAM_SECONDS
    last = None
    while True:
        token = await poll(actor, unit)
        if token is None:
            break
        if token != last:
            last = token
            yield _event(token)
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(STREAM_POLL_SECONDS)
    yield _CLOSE


@router.get(
    "/ioc/stream",
    auth=READ,
    response={200: None},
    summary="Live updates (server-sent events)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "text/event-stream: an event `token` now and whenever the token changes; "
                "the stream closes after 60 s with a `retry` hint, and EventSource reconnects.",
                "content": {
                    "text/event-stream": {
                        "schema": {
                            "type": "object",
                            "description": "An event: `token` (data: JSON with the token) or `close`.",
                            "properties": {
                                "event": {"type": "string", "enum": ["token", "close"]},
                                "data": {"type": "string"},
                                "retry": {"type": "integer"},
                            },
                        }
                    }
                },
            }
        }
    },
)
def stream(request: HttpRequest, filters: Query[StreamFilters]) -> StreamingHttpResponse:
    """Server-sent events: ``event: token`` with ``{"token": …}`` at once and whenever the live token of the
    unit changes (read every second), for 60 seconds; then ``event: close`` and a ``retry:`` hint. Under the
    default WSGI server each open stream holds a server thread: dashboards poll ``/ioc/live`` instead; serve
    with ``--interface asgi`` for many streams."""
    actor = request.user
    selectors.live_token(actor=actor, unit=filters.unit)  # refuse (403, 400) before streaming
    _release_connection()
    content: Any = (
        _stream_async(actor, filters.unit)
        if isinstance(request, ASGIRequest)
        else _stream(actor, filters.unit)
    )
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
