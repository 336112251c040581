"""Reads of the dossiers app; import from here. ``dossiers``: the scoped lists, details, queues, public
lookup and previews; ``stats``: the statistics (its own module); ``rollups``: dashboard figures from the daily
roll-ups and the open dossiers; ``holders``: dossiers with who holds them (late ones, the records behind a
figure)."""

from hanoismart.dossiers.selectors.dossiers import (
    QUEUES,
    desk_queue,
    desk_queue_counts,
    dossier_actions_for,
    dossier_for,
    dossier_list_for,
    dossier_public_status,
    dossier_timeline,
    dossiers_visible_to,
    due_preview,
)
from hanoismart.dossiers.selectors.holders import (
    DossierRecord,
    DossierRecords,
    LateDossier,
    dossier_records,
    overdue_dossiers,
)
from hanoismart.dossiers.selectors.rollups import (
    OPEN_FIGURES,
    FigureRow,
    LateProcedure,
    PassingDue,
    dossiers_passing_due,
    late_procedures,
    next_due_moments,
    open_figures,
    rollup_figures,
    rollups_changed_since,
    rollups_last_change,
)
from hanoismart.dossiers.selectors.stats import index_766, rates, stats_scope

__all__ = [
    "OPEN_FIGURES",
    "QUEUES",
    "DossierRecord",
    "DossierRecords",
    "FigureRow",
    "LateDossier",
    "LateProcedure",
    "PassingDue",
    "desk_queue",
    "desk_queue_counts",
    "dossier_actions_for",
    "dossier_for",
    "dossier_list_for",
    "dossier_public_status",
    "dossier_records",
    "dossier_timeline",
    "dossiers_passing_due",
    "dossiers_visible_to",
    "due_preview",
    "index_766",
    "late_procedures",
    "next_due_moments",
    "open_figures",
    "overdue_dossiers",
    "rates",
    "rollup_figures",
    "rollups_changed_since",
    "rollups_last_change",
    "stats_scope",
]
