"""The operations center's KPIs: what each tile measures, where its figures come from, and its default target.

Dossier KPIs are read from the daily roll-ups (flows over a period) and from the open dossiers (stocks now),
with the definitions of ``dossiers.selectors.stats`` (docs/statistics.md); reporting KPIs from the reporting
app's completeness. docs/ioc.md lists each definition.

Default targets (``TARGETS``) are the goals of the national and city programmes a Hanoi leader is measured
against. They are constants here, not settings, so every deployment starts from the same published goals;
managers add their own alerting thresholds per unit in the IOC (``KpiThreshold``). Check them against the
city's plan of the year before a deployment and change them here (with a test):

- on_time_rate 95 %: the administrative-reform plans' floor for dossiers settled on time (every late one needs
  an apology letter, Decree 61/2018/NĐ-CP as amended by Decree 107/2021/NĐ-CP);
- online_rate 50 %, fully_online_rate 50 %: Decision 942/QĐ-TTg (e-government strategy to 2025): at least half
  of the dossiers handled online, as taken up by Resolution 18-NQ/TU (Hanoi's digital transformation);
- digitisation_rate 80 %, reuse_rate 50 %: Decision 468/QĐ-TTg (one-stop reform) and Decree 45/2020/NĐ-CP:
  papers digitised at filing, data already held by the state not asked for again;
- satisfaction_rate 90 %: Resolution 76/NQ-CP (public-administration reform 2021-2030): satisfaction with
  administrative services of at least 90 % by 2025;
- index_766 80 points: a goal set here: Decision 766/QĐ-TTg scores and ranks units but sets no pass mark;
- reporting_completeness 100 %: Decree 09/2019/NĐ-CP (reporting regime): every assigned report is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

MEASURES = ("count", "percent", "points", "score")
SOURCES = ("dossiers", "reporting")

#: How far from the target a value still counts as "warning" rather than "bad": a tenth of the target.
WARNING_MARGIN = 0.1


@dataclass(frozen=True)
class Kpi:
    """One KPI tile: its code, label, what it measures and its one-sentence definition."""

    code: str
    label: Any
    measure: str  # "count" | "percent" | "points" | "score"
    higher_is_better: bool
    source: str  # "dossiers" | "reporting"
    description: Any
    #: "flow": counted over the period (from the daily roll-ups); "stock": counted now; "reporting".
    kind: str = "flow"

    @property
    def is_stock(self) -> bool:
        return self.kind == "stock"


def _kpi(*args: Any, **kwargs: Any) -> tuple[str, Kpi]:
    kpi = Kpi(*args, **kwargs)
    return kpi.code, kpi


#: The KPIs, in the order of the overview.
KPIS: dict[str, Kpi] = dict(
    [
        _kpi(
            "received",
            _("Dossiers received"),
            "count",
            True,
            "dossiers",
            _("Dossiers received in the period (received_at in the period)."),
        ),
        _kpi(
            "finished",
            _("Dossiers resolved"),
            "count",
            True,
            "dossiers",
            _("Dossiers finished in the period: processed, returned, withdrawn or stopped."),
        ),
        _kpi(
            "on_time_rate",
            _("On-time rate"),
            "percent",
            True,
            "dossiers",
            _("Share of the dossiers finished in the period that were finished early or on time."),
        ),
        _kpi(
            "online_rate",
            _("Online rate"),
            "percent",
            True,
            "dossiers",
            _("Share of the dossiers received in the period that were filed online."),
        ),
        _kpi(
            "fully_online_rate",
            _("Fully-online rate"),
            "percent",
            True,
            "dossiers",
            _("Share of the dossiers received in the period that were handled fully online."),
        ),
        _kpi(
            "digitisation_rate",
            _("Digitisation rate"),
            "percent",
            True,
            "dossiers",
            _("Share of the papers of the dossiers received in the period that were digitised or reused."),
        ),
        _kpi(
            "reuse_rate",
            _("Reuse rate"),
            "percent",
            True,
            "dossiers",
            _("Share of the papers of the dossiers received in the period reused from stored documents."),
        ),
        _kpi(
            "satisfaction_rate",
            _("Satisfaction"),
            "percent",
            True,
            "dossiers",
            _("Share of the ratings given in the period that were satisfied or very satisfied."),
        ),
        _kpi(
            "rating_score_average",
            _("Average rating"),
            "points",
            True,
            "dossiers",
            _("Average total of the ratings given in the period (nine criteria, 0 to 18 points)."),
        ),
        _kpi(
            "index_766",
            _("Decision 766 index"),
            "score",
            True,
            "dossiers",
            _("Decision 766/QĐ-TTg service index out of 100 points, in five groups, for the period."),
        ),
        _kpi(
            "in_progress",
            _("In progress"),
            "count",
            False,
            "dossiers",
            _("Dossiers being handled now (received, not finished)."),
            kind="stock",
        ),
        _kpi(
            "overdue",
            _("Overdue"),
            "count",
            False,
            "dossiers",
            _("Dossiers being handled now whose due time has passed (not waiting for a supplement)."),
            kind="stock",
        ),
        _kpi(
            "due_soon",
            _("Due within 24 hours"),
            "count",
            False,
            "dossiers",
            _("Dossiers being handled now that fall due within the next 24 hours."),
            kind="stock",
        ),
        _kpi(
            "reporting_completeness",
            _("Reporting completeness"),
            "percent",
            True,
            "reporting",
            _("Share of the reports expected for the latest period past its due date that were submitted."),
            kind="reporting",
        ),
        _kpi(
            "reports_late",
            _("Late reports"),
            "count",
            False,
            "reporting",
            _("Reports expected now, past their due date and not submitted."),
            kind="reporting",
        ),
    ]
)

#: Default targets (see the module's docstring for where each number comes from).
TARGETS: dict[str, float] = {
    "on_time_rate": 95.0,
    "online_rate": 50.0,
    "fully_online_rate": 50.0,
    "digitisation_rate": 80.0,
    "reuse_rate": 50.0,
    "satisfaction_rate": 90.0,
    "index_766": 80.0,
    "reporting_completeness": 100.0,
}


def kpi_status(kpi: Kpi, value: float | int | None, target: float | None) -> str:
    """ "good" when the target is met, "warning" within a tenth of it, "bad" beyond; "" without a value or
    a target."""
    if value is None or target is None:
        return ""
    margin = abs(target) * WARNING_MARGIN
    if kpi.higher_is_better:
        if value >= target:
            return "good"
        return "warning" if value >= target - margin else "bad"
    if value <= target:
        return "good"
    return "warning" if value <= target + margin else "bad"
