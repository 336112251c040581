"""The public-services view: wards and agencies ranked by the Decision 766 index with its five groups, the
late and nearly-late dossiers with who holds them, and the procedures that make the most late dossiers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from hanoismart.dossiers.selectors import late_procedures, overdue_dossiers
from hanoismart.ioc import selectors
from hanoismart.ioc.selectors import IocScope
from hanoismart.ioc.views._shared import filter_context, filters_from, ioc_page, xlsx_response

LEVELS = {"ward": gettext_lazy("Wards and communes"), "agency": gettext_lazy("Agencies")}
#: The chart shows the best and the worst this many; the table lists every one.
CHART_ENDS = 10
LATE_DOSSIERS = 50
NEARLY_LATE_HOURS = 24


def _delay(delta: dt.timedelta) -> str:
    """How late (or how soon due) in days and hours: "2 d 3 h"."""
    seconds = abs(int(delta.total_seconds()))
    days, hours = seconds // 86400, (seconds % 86400) // 3600
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    minutes = (seconds % 3600) // 60
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


def _chart(rows: list[Any]) -> dict[str, Any]:
    """The best and the worst of those with a score (units with nothing to measure are left out)."""
    rows = [row for row in rows if row.score is not None]
    shown = rows if len(rows) <= 2 * CHART_ENDS else [*rows[:CHART_ENDS], *rows[-CHART_ENDS:]]
    names = [group.name for group in shown[0].groups] if shown else []
    return {
        "labels": [f"{row.rank}. {row.label}" for row in shown],
        "groups": [
            {"name": name, "values": [row.groups[i].points for row in shown]} for i, name in enumerate(names)
        ],
    }


@require_GET
@ioc_page
def services(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """Rankings, late dossiers and the procedures behind them, for the period and unit chosen."""
    filters = filters_from(request, scope)
    level = request.GET.get("level", "ward")
    if level not in LEVELS:
        level = "ward"
    ranking = selectors.rankings(
        actor=request.user,
        scope=scope,
        index="766",
        level=level,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    if request.GET.get("format") == "xlsx":
        return _ranking_xlsx(ranking, level, filters)
    now = timezone.now()
    unit_ids = selectors.figure_unit_ids(filters.scope, filters.unit if filters.selector_unit else None)
    late = overdue_dossiers(
        unit_ids=unit_ids, now=now, include_due_within_hours=NEARLY_LATE_HOURS, limit=LATE_DOSSIERS
    )
    for row in late:
        row.is_late = row.overdue_by > dt.timedelta(0)
        row.delay = _delay(row.overdue_by)
    scored = sum(1 for row in ranking if row.score is not None)
    context = {
        **filter_context(filters),
        "section": "services",
        "level": level,
        "levels": list(LEVELS.items()),
        "ranking": ranking,
        "group_names": [group.name for group in ranking[0].groups] if ranking else [],
        "chart": _chart(ranking),
        "chart_rows": min(scored, 2 * CHART_ENDS),
        "chart_note": ngettext(
            "The chart shows the %(n)d best and the %(n)d worst; the table lists all.",
            "The chart shows the %(n)d best and the %(n)d worst; the table lists all.",
            CHART_ENDS,
        )
        % {"n": CHART_ENDS}
        if scored > 2 * CHART_ENDS
        else "",
        "late": late,
        "late_count": sum(1 for row in late if row.is_late),
        "late_limit": LATE_DOSSIERS,
        "procedures": late_procedures(
            unit_ids=unit_ids, date_from=filters.date_from, date_to=filters.date_to, now=now
        ),
        "xlsx_query": filters.query(level=level, format="xlsx"),
        "level_query": filters.query(),
    }
    return render(request, "ioc/services.html", context)


def _ranking_xlsx(ranking: list[Any], level: str, filters: Any) -> HttpResponse:
    names = [group.name for group in ranking[0].groups] if ranking else []
    header = [_("Rank"), _("Code"), _("Name"), _("Score"), *names]
    rows = [
        [row.rank, row.key, row.label, row.score, *(group.points for group in row.groups)] for row in ranking
    ]
    notes = [
        f"{_('Decision 766 index')} · {LEVELS[level]}",
        f"{filters.date_from:%d/%m/%Y} – {filters.until:%d/%m/%Y}",
    ]
    name = f"ioc_ranking_766_{level}_{filters.date_from:%Y%m%d}_{filters.until:%Y%m%d}.xlsx"
    return xlsx_response(filename=name, title="766", header=header, rows=rows, notes=notes)
