"""Reads of dossiers, scoped in one place (``dossiers_visible_to``) that every list and detail goes through:
a resident sees the dossiers they filed or are the applicant of; a staff member the dossiers of the agencies
where they hold a position that may view them (a city-level position: every agency); a superuser all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.errors import NotFound, PermissionDenied
from hanoismart.common.validators import normalize_phone
from hanoismart.directory.selectors import working_calendar
from hanoismart.dossiers import deadlines
from hanoismart.dossiers.models import OPEN_STATUSES, Dossier, DossierEvent
from hanoismart.dossiers.permissions import ROLE_PERMISSIONS, DossierPermission, positions_with
from hanoismart.dossiers.transitions import RULES
from hanoismart.identity.api_auth import holds_no_staff_position
from hanoismart.identity.selectors.staff import is_city_level, positions_active
from hanoismart.procedures.models import DossierStatus as S

#: A dossier is "due soon" when its due moment is within this many hours of now.
DUE_SOON = dt.timedelta(days=2)

QUEUES = ("to_receive", "due_soon", "overdue", "supplement", "to_sign", "to_return", "mine")

_RELATED = ("procedure", "case", "agency", "unit", "step", "assignee", "applicant")


def _staff_agency_scope(actor: Any, perm: DossierPermission = DossierPermission.DOSSIER_VIEW) -> Q | None:
    """The agencies whose dossiers the actor may see as staff (None: no staff access; Q(): all)."""
    positions = positions_with(actor, perm)
    if not positions:
        return None
    if any(is_city_level(position) for position in positions):
        return Q()
    return Q(agency_id__in={position.agency_id for position in positions})


def dossiers_visible_to(actor: Any, *, as_staff: bool | None = None) -> QuerySet[Dossier]:
    """Every dossier ``actor`` may see (the one scoping rule). ``as_staff`` False: only their own as an
    applicant; True: only those of the agencies they serve; None: both."""
    dossiers = Dossier.objects.select_related(*_RELATED)
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return dossiers.none()
    if actor.is_superuser and as_staff is not False:
        return dossiers
    own = Q(applicant=actor) | Q(created_by=actor, channel="online")
    staff = _staff_agency_scope(actor) if as_staff is not False else None
    if as_staff is True:
        return dossiers.filter(staff) if staff is not None else dossiers.none()
    if as_staff is False or staff is None:
        return dossiers.filter(own)
    return dossiers.filter(own | staff) if staff else dossiers


def _apply_filters(dossiers: QuerySet[Dossier], filters: dict[str, Any]) -> QuerySet[Dossier]:
    status = filters.get("status")
    if status:
        dossiers = dossiers.filter(status__in=[status] if isinstance(status, str) else list(status))
    if filters.get("procedure"):
        dossiers = dossiers.filter(procedure__national_code=filters["procedure"])
    if filters.get("code"):
        dossiers = dossiers.filter(code__icontains=str(filters["code"]).strip())
    if filters.get("agency"):
        dossiers = dossiers.filter(agency__code=filters["agency"])
    return dossiers


def dossier_list_for(*, actor: Any, filters: dict | None = None) -> QuerySet[Dossier]:
    """The dossiers ``actor`` may see: a resident's own; staff, the dossiers of agencies they serve.
    Filters: ``mine`` (only as an applicant), ``queue`` (a desk queue), ``status``, ``procedure``, ``code``,
    ``agency``. Newest first."""
    filters = filters or {}
    if filters.get("mine"):
        dossiers = dossiers_visible_to(actor, as_staff=False)
    elif filters.get("queue"):
        dossiers = desk_queue(actor=actor, queue=filters["queue"])
    else:
        dossiers = dossiers_visible_to(actor)
    return _apply_filters(dossiers, filters).order_by("-submitted_at", "-id")


def dossier_for(*, actor: Any, code: str) -> Dossier:
    """One dossier by its code: NotFound when there is none, PermissionDenied when the actor may not see it
    (another resident's, or staff outside the agencies they serve)."""
    dossier = Dossier.objects.select_related(*_RELATED).filter(code=str(code).strip()).first()
    if dossier is None:
        raise NotFound(_("No dossier has this code."))
    if not dossiers_visible_to(actor).filter(pk=dossier.pk).exists():
        raise PermissionDenied(_("You may not see this dossier."))
    return dossier


def _permissions_in_agency(actor: Any, agency_id: int) -> set[str]:
    """What ``actor`` may do on dossiers of agency ``agency_id`` through the positions they hold there today
    (roles that may view its dossiers): their roles read in one narrow query, no position rows built; none
    read for a user known to hold no position at all."""
    held: set[str] = set()
    if holds_no_staff_position(actor):
        return held
    for role in positions_active(actor).filter(agency_id=agency_id).values_list("role", flat=True):
        permissions = ROLE_PERMISSIONS.get(role, frozenset())
        if DossierPermission.DOSSIER_VIEW in permissions:
            held |= permissions
    return held


def dossier_actions_for(*, actor: Any, dossier: Dossier) -> list[str]:
    """The actions ``actor`` may take on ``dossier`` now (the services check the same rules). Staff actions
    come from a position in the dossier's own agency; the positions are read only when the dossier's status
    offers a staff action at all."""
    if actor is None or not actor.is_authenticated:
        return []
    now = timezone.now()
    is_applicant = dossier.applicant_id is not None and dossier.applicant_id == actor.pk
    held: set[str] = set()
    if actor.is_superuser:
        held = set(DossierPermission)
    elif any(not rule.applicant and dossier.status in rule.statuses for rule in RULES.values()):
        held = _permissions_in_agency(actor, dossier.agency_id)
    allowed = []
    for action, rule in RULES.items():
        if dossier.status not in rule.statuses:
            continue
        if rule.applicant and not is_applicant:
            continue
        if not rule.applicant and not held.intersection(rule.perms):
            continue
        if rule.when(dossier, now):
            allowed.append(action)
    return allowed


def _queue_conditions(actor: Any) -> dict[str, Q]:
    """What puts a dossier in each desk queue, as of now (one definition for the lists and the counts)."""
    now = timezone.now()
    working = [S.RECEIVED, S.IN_PROGRESS, S.FINANCIAL_OBLIGATION]
    return {
        "to_receive": Q(status=S.SUBMITTED),
        "due_soon": Q(status__in=working, due_at__gte=now, due_at__lt=now + DUE_SOON),
        "overdue": Q(status__in=working, due_at__lt=now),
        "supplement": Q(status=S.SUPPLEMENT_REQUESTED),
        "to_sign": Q(status__in=[S.RECEIVED, S.IN_PROGRESS])
        & (Q(step__status=S.PROCESSED) | Q(step__role="leader")),
        "to_return": Q(status=S.PROCESSED),
        "mine": Q(assignee=actor, status__in=list(OPEN_STATUSES)),
    }


def desk_queue(*, actor: Any, queue: str) -> QuerySet[Dossier]:
    """One of the staff workspace's queues of the agencies the actor serves: ``to_receive`` (submitted),
    ``due_soon`` (open, due within two days), ``overdue`` (open, past due), ``supplement`` (waiting for the
    applicant), ``to_sign`` (at a leader's step), ``to_return`` (processed), ``mine`` (held by the actor)."""
    dossiers = dossiers_visible_to(actor, as_staff=True)
    condition = _queue_conditions(actor).get(queue)
    if condition is None:
        return dossiers.none()
    order = (
        ("due_at", "id") if queue in ("due_soon", "overdue", "to_sign", "mine") else ("submitted_at", "id")
    )
    return dossiers.filter(condition).order_by(*order)


def desk_queue_counts(*, actor: Any) -> dict[str, int]:
    """How many dossiers are in each desk queue of the actor: the scope is read once and every queue is
    counted in one query."""
    conditions = _queue_conditions(actor)
    counts = dossiers_visible_to(actor, as_staff=True).aggregate(
        **{queue: Count("pk", filter=conditions[queue]) for queue in QUEUES}
    )
    return {queue: counts[queue] or 0 for queue in QUEUES}


def dossier_public_status(*, code: str, phone: str) -> dict | None:
    """The public lookup: a dossier's status by its code and the applicant's phone number, with the procedure
    name and the received and due dates; no personal data. None when the pair does not match."""
    try:
        phone = normalize_phone(phone)
    except Exception:  # not a phone number: nothing can match
        return None
    dossier = (
        Dossier.objects.select_related("procedure", "agency")
        .filter(code=str(code).strip(), applicant_phone=phone)
        .first()
    )
    if dossier is None:
        return None
    return {
        "code": dossier.code,
        "status": dossier.status,
        "status_label": dossier.get_status_display(),
        "procedure": dossier.procedure.name,
        "agency": dossier.agency.name,
        "submitted_at": dossier.submitted_at,
        "received_at": dossier.received_at,
        "due_at": dossier.due_at,
        "returned_at": dossier.returned_at,
    }


def due_preview(*, case: Any, channel: str, at: dt.datetime | None = None) -> dt.datetime:
    """When a dossier of ``case`` filed on ``channel`` at ``at`` (now) would be due if received at once."""
    calendar = working_calendar()
    start = calendar.next_working_moment(at or timezone.now())
    amount, unit = deadlines.processing_budget(case=case, channel=channel)
    return deadlines.due_at(calendar, received_at=start, amount=amount, unit=unit)


def dossier_timeline(*, dossier: Dossier) -> QuerySet[DossierEvent]:
    """The dossier's events, oldest first (the caller has checked the actor may see the dossier)."""
    return DossierEvent.objects.filter(dossier=dossier).select_related("actor").order_by("at", "id")
