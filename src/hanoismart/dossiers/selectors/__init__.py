"""Reads of the dossiers app; import from here. ``dossiers``: the scoped lists, details, queues, public
lookup and previews; ``stats``: the statistics (its own module)."""

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

__all__ = [
    "QUEUES",
    "desk_queue",
    "desk_queue_counts",
    "dossier_actions_for",
    "dossier_for",
    "dossier_list_for",
    "dossier_public_status",
    "dossier_timeline",
    "dossiers_visible_to",
    "due_preview",
]
