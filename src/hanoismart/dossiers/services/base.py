"""What every dossier service shares: who may act (one check), locking the row, and the record each change
leaves behind — the timeline event, the audit event, the national-portal sync message and the applicant's
notification (after commit). A refused action raises before any of these is written."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import SavePlan, audit_event_build, prep_save, save_plan
from hanoismart.common.errors import NotAuthenticated, PermissionDenied
from hanoismart.common.queries import kept_cursor
from hanoismart.directory.selectors import working_calendar
from hanoismart.dossiers.models import Dossier, DossierEvent, PortalSyncMessage
from hanoismart.dossiers.permissions import DossierPermission, position_for
from hanoismart.dossiers.services import rollups
from hanoismart.dossiers.services.portal import portal_deliver
from hanoismart.notifications.services import Outgoing, message_send_many

NOTIFY_CHANNELS = ("in_app", "sms")


@dataclass(frozen=True)
class Acting:
    """How an actor acts on a dossier: as its applicant, through a staff position, or as a superuser."""

    user: Any
    role: str
    label: str


def now() -> dt.datetime:
    return timezone.now()


def calendar():
    """The city's working calendar (cached per process by directory)."""
    return working_calendar()


def require_signed_in(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise NotAuthenticated(_("Sign in to do this."))


def acting_as_staff(actor: Any, dossier: Dossier, *perms: DossierPermission) -> Acting:
    """The position through which ``actor`` holds one of ``perms`` in the dossier's agency (a superuser
    passes); PermissionDenied otherwise, before anything is written."""
    require_signed_in(actor)
    if actor.is_superuser:
        return Acting(user=actor, role="superuser", label=str(actor))
    for perm in perms:
        position = position_for(actor, perm, agency_id=dossier.agency_id)
        if position is not None:
            return Acting(user=actor, role=position.role, label=str(actor))
    raise PermissionDenied(
        _("You do not serve the agency handling this dossier, or your role cannot do this.")
    )


def acting_as_applicant(actor: Any, dossier: Dossier) -> Acting:
    """The applicant acting on their own dossier; PermissionDenied for anyone else."""
    require_signed_in(actor)
    if dossier.applicant_id is None or dossier.applicant_id != actor.pk:
        raise PermissionDenied(_("Only the applicant can do this."))
    return Acting(user=actor, role="applicant", label=str(actor))


def locked(dossier: Dossier) -> Dossier:
    """The dossier re-read under a row lock, so two actions on one dossier run one after the other, with
    its roll-up contribution taken then (``rollups.track``; ``record`` applies the change)."""
    current = (
        Dossier.objects.select_for_update(of=("self",))
        .select_related("case", "procedure", "agency", "step")
        .get(pk=dossier.pk)
    )
    return rollups.track(current)


# --- writing a change's rows -------------------------------------------------------------------------------
# A change's rows are built as instances first (the business rules), then written by ``rows_write``: on
# PostgreSQL all of them in one statement (each part a data-modifying CTE: one round trip, one parse, one
# plan), elsewhere (SQLite) one statement per part. The SQL text of a part is made once per process and
# shape; the values are prepared as ``save()`` prepares them (``auto_now``, defaults, JSON, a file stored).
# No model signals are sent (none is connected to these models).


@dataclass(frozen=True)
class Rows:
    """One part of a change's writes: a statement with its values, the instances its RETURNING columns
    (``returning``, attnames, the primary key first) are given back to, in order, and the name by which a
    later part of the same statement may read what it returns (PostgreSQL)."""

    sql: str
    params: list[Any]
    rows: Sequence[models.Model] = ()
    returning: tuple[str, ...] = ()
    name: str = ""


def _insert_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    auto = model._meta.auto_field
    return tuple(f for f in model._meta.local_concrete_fields if f is not auto and not f.generated)


@functools.lru_cache(maxsize=256)
def _insert_sql(
    alias: str,
    model: type[models.Model],
    count: int,
    computed: tuple[tuple[str, str], ...],
    returning: tuple[str, ...],
) -> str:
    connection = connections[alias]
    quote = connection.ops.quote_name
    expressions = dict(computed)
    fields = _insert_fields(model)
    row = "({})".format(", ".join(expressions.get(field.attname, "%s") for field in fields))
    sql = "INSERT INTO {} ({}) VALUES {}".format(  # noqa: S608 - names from _meta
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join([row] * count),
    )
    if returning:
        columns = (quote(model._meta.get_field(name).column) for name in returning)
        sql += " RETURNING " + ", ".join(columns)
    return sql


@functools.lru_cache(maxsize=256)
def _insert_plan(alias: str, model: type[models.Model]) -> SavePlan:
    return save_plan(_insert_fields(model), connections[alias])


def rows_insert(
    model: type[models.Model],
    rows: Sequence[models.Model],
    *,
    computed: dict[str, tuple[str, list[Any]]] | None = None,
    returning: tuple[str, ...] = (),
) -> list[Rows]:
    """New ``rows`` of ``model`` as INSERT … VALUES: one, or one per batch the database's parameter limit
    allows (SQLite); an auto primary key, and the attnames in ``returning``, come back into the instances.
    ``computed``: attname → (SQL expression, its values), written instead of the instance's value in every
    row (a sequence number, the allocated code)."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    computed = computed or {}
    auto = model._meta.auto_field
    back = ((auto.attname,) if auto is not None else ()) + returning
    if back and not connection.features.can_return_columns_from_insert:
        raise RuntimeError("rows_insert needs INSERT … RETURNING (PostgreSQL, SQLite 3.35+).")
    fields = _insert_fields(model)
    plan = _insert_plan(alias, model)
    expressions = tuple((name, expression) for name, (expression, _values) in computed.items())
    batch = max(connection.ops.bulk_batch_size(fields, rows), 1)
    parts = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        params: list[Any] = []
        for row in chunk:
            # As save() prepares them (pre_save: auto_now, a file stored), without Django's chain of calls
            # for a value it would give back unchanged (audit.services.prep_save).
            values = prep_save(
                plan,
                [None if field.attname in computed else field.pre_save(row, True) for field in fields],
                connection,
            )
            if not computed:
                params += values
                continue
            for field, value in zip(fields, values, strict=True):
                if field.attname in computed:
                    params.extend(computed[field.attname][1])
                else:
                    params.append(value)
        sql = _insert_sql(alias, model, len(chunk), expressions, back)
        parts.append(Rows(sql=sql, params=params, rows=chunk, returning=back))
    return parts


def _given_back(part: Rows, values: Sequence[Sequence[Any]]) -> None:
    for row, returned in zip(part.rows, values, strict=True):
        for attname, value in zip(part.returning, returned, strict=True):
            setattr(row, attname, value)


def rows_write(parts: Sequence[Rows]) -> None:
    """Write ``parts`` in the caller's transaction, in order: on PostgreSQL in one statement (every part a
    data-modifying CTE; a part reads an earlier one's RETURNING by its ``name``), elsewhere one statement
    each. The returned columns are set on the rows, which are then saved instances."""
    if not parts:
        return
    alias = router.db_for_write(Dossier)
    connection = connections[alias]
    cursor = kept_cursor(alias)
    # As save() does: an error here marks the caller's transaction for rollback.
    with transaction.mark_for_rollback_on_error(alias):
        if connection.vendor == "postgresql" and len(parts) > 1:
            shapes = tuple(
                (part.name or f"part_{index}", part.sql, tuple(_columns(part)), len(part.rows) > 1)
                for index, part in enumerate(parts)
            )
            sql = _combined_sql(alias, shapes)
            cursor.execute(sql, [value for part in parts for value in part.params])
            arrays = iter(cursor.fetchone())
            for part in parts:
                columns = [next(arrays) for _ in part.returning]
                if columns:
                    _given_back(part, list(zip(*columns, strict=True)))
        else:
            for part in parts:
                cursor.execute(part.sql, part.params)
                if part.returning:
                    _given_back(part, cursor.fetchall())
    for part in parts:
        for row in part.rows:
            row._state.adding = False
            row._state.db = alias


@functools.lru_cache(maxsize=256)
def _combined_sql(alias: str, shapes: tuple[tuple[str, str, tuple[str, ...], bool], ...]) -> str:
    """Parts (name, SQL, returned columns, several rows) as one statement of data-modifying CTEs that
    selects one array per returned column, in the rows' order: a multi-row INSERT numbers its rows in
    order, so ordering by the primary key (the first column returned) gives them back as given."""
    quote = connections[alias].ops.quote_name
    selected = []
    for name, _sql, columns, several in shapes:
        order = f" ORDER BY {quote(columns[0])}" if several and columns else ""
        selected += [f"ARRAY(SELECT {quote(column)} FROM {name}{order})" for column in columns]  # noqa: S608
    return "WITH {} SELECT {}".format(
        ", ".join(f"{name} AS ({sql})" for name, sql, _columns, _several in shapes),
        ", ".join(selected) or "1",
    )


def _columns(part: Rows) -> list[str]:
    model = type(part.rows[0]) if part.rows else None
    return [model._meta.get_field(name).column for name in part.returning] if model else []


def portal_payload(dossier: Dossier) -> dict[str, Any]:
    """What the national portal receives on a status change: codes, status and dates (no personal data
    beyond what the portal already holds about the dossier)."""

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "code": dossier.code,
        "procedure_code": dossier.procedure.national_code,
        "agency_code": dossier.agency.code,
        "status": dossier.status,
        "channel": dossier.channel,
        "submitted_at": iso(dossier.submitted_at),
        "received_at": iso(dossier.received_at),
        "due_at": iso(dossier.due_at),
        "finished_at": iso(dossier.finished_at),
        "returned_at": iso(dossier.returned_at),
        "timeliness": dossier.timeliness,
        "result_document": str(dossier.result_document.public_id) if dossier.result_document_id else None,
    }


@functools.lru_cache(maxsize=4)
def _next_sequence_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    meta = PortalSyncMessage._meta
    sequence, dossier = (quote(meta.get_field(name).column) for name in ("sequence", "dossier"))
    return f"(SELECT COALESCE(MAX({sequence}), 0) + 1 FROM {quote(meta.db_table)} WHERE {dossier} = %s)"  # noqa: S608


def portal_message_queue(*, dossier: Dossier, is_first: bool = False) -> list[Rows]:
    """The dossier's current status queued for the national portal: the message's row, for ``rows_write``
    with the change's other rows. Its number is the dossier's next, found by the INSERT itself (1 without
    asking when ``is_first``, for a dossier created in this transaction). ``record`` has it delivered after
    commit; the periodic sweep delivers whatever that missed."""
    message = PortalSyncMessage(
        dossier=dossier,
        sequence=1,
        status=dossier.status,
        payload=portal_payload(dossier),
        next_attempt_at=now(),
    )
    rollups.portal_message_queued(dossier)
    if is_first:
        return rows_insert(PortalSyncMessage, [message])
    next_sequence = (_next_sequence_sql(router.db_for_write(PortalSyncMessage)), [dossier.pk])
    return rows_insert(
        PortalSyncMessage, [message], computed={"sequence": next_sequence}, returning=("sequence",)
    )


def applicant_notification(
    *, dossier: Dossier, event: str, extra: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """What to tell the applicant about ``event`` (in-app and SMS; without an account, an SMS to the phone
    they gave): ``message_send``'s arguments, with the recipient's id, picklable for a task. None when there
    is nobody to tell. The context is taken now, so a later change cannot alter what this one says."""
    applicant_id = dossier.applicant_id
    channels = NOTIFY_CHANNELS if applicant_id is not None else ("sms",)
    address = "" if applicant_id is not None else dossier.applicant_phone
    if applicant_id is None and not address:
        return None
    context = {
        "code": dossier.code,
        "procedure": dossier.procedure.name,
        "status": str(dossier.get_status_display()),
        "status_code": dossier.status,
        "event": event,
        "due_at": timezone.localtime(dossier.due_at) if dossier.due_at else None,
        **(extra or {}),
    }
    return {
        "recipient_id": applicant_id,
        "template": "dossiers.status",
        "context": context,
        "channels": list(channels),
        "address": address,
    }


def follow_up_after_commit(*, dossier: Dossier, notification: dict[str, Any] | None, deliver: bool) -> None:
    """After commit, one background task for this change: the applicant's notification and the delivery of
    the dossier's portal messages. One queue write per change (not one per message), and the rendering and
    writing of the notification happen in the worker, not in the request. If the queue refuses the task the
    change stands: the portal sweep still delivers, only this notification is lost (logged)."""
    if notification is None and not deliver:
        return
    dossier_id = dossier.pk

    def enqueue() -> None:
        from hanoismart.dossiers.tasks import dossier_follow_up

        dossier_follow_up(dossier_id, notification, deliver)

    transaction.on_commit(enqueue, robust=True)


def follow_up(*, changes: Sequence[tuple[int, dict[str, Any] | None, bool]]) -> int:
    """The work ``follow_up_after_commit`` queued — ``(dossier id, notification, deliver)`` per change — for
    one change or many at once (the worker takes the follow-ups waiting in its queue together): the
    applicants' notifications, their accounts read in one query and the messages written with one INSERT;
    then the portal messages of the dossiers whose status changed, delivered together (in order per
    dossier, retried by their own schedule). Notifications first: until written they exist only in the
    worker's memory, while the portal messages are rows the sweep delivers anyway. Returns how many portal
    messages went."""
    notifications = [notification for _, notification, _ in changes if notification is not None]
    recipient_ids = {notification["recipient_id"] for notification in notifications} - {None}
    accounts = get_user_model().objects.in_bulk(recipient_ids) if recipient_ids else {}
    sends = []
    for notification in notifications:
        arguments = dict(notification)
        recipient_id = arguments.pop("recipient_id")
        if recipient_id is not None and recipient_id not in accounts:
            continue  # the account is gone: nobody to tell in-app
        sends.append(Outgoing(recipient=accounts.get(recipient_id), **arguments))
    message_send_many(sends=sends)
    return portal_deliver(dossier_ids=[dossier_id for dossier_id, _, deliver in changes if deliver])


def record(
    dossier: Dossier,
    *,
    acting: Acting | None,
    action: str,
    from_status: str,
    note: str = "",
    details: dict[str, Any] | None = None,
    attachment: Any = None,
    notify: bool = True,
    notify_extra: dict[str, Any] | None = None,
    audit_also: Sequence[AuditEvent] = (),
    rows_also: Sequence[Rows] = (),
) -> DossierEvent:
    """Leave the trace of one change: the event, the audit event (subject: the applicant's account), the
    national-portal sync message when the status changed, the applicant's notification, and the change of
    the daily roll-ups (``rollups.apply``; the dossier must come from ``locked`` or be new). ``audit_also``:
    audit events the change built but did not write (a filing's reused documents), written with its own in
    one INSERT; ``rows_also``: other rows of the change (a filing's papers), written with these — on
    PostgreSQL the event, the audit events, the portal message and those in one statement."""
    event = DossierEvent(
        dossier=dossier,
        at=now(),
        actor=acting.user if acting else None,
        actor_label=acting.label if acting else "",
        actor_role=acting.role if acting else "",
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        step_name=dossier.step.name if dossier.step_id else "",
        note=note,
        details=details or {},
    )
    if attachment is not None:
        event.attachment = attachment
    own = audit_event_build(
        actor=acting.user if acting else None,
        action=f"dossiers.{action}",
        obj=dossier,
        subject=dossier.applicant,
        unit_code=dossier.unit.code if dossier.unit_id else "",
        actor_role=acting.role if acting else "",
        details={"code": dossier.code, "from": from_status, "to": dossier.status, **(details or {})},
    )
    parts = [*rows_also, *rows_insert(DossierEvent, [event]), *rows_insert(AuditEvent, [*audit_also, own])]
    status_changed = dossier.status != from_status
    if status_changed:
        parts += portal_message_queue(dossier=dossier, is_first=not from_status)
    rows_write(parts)
    notification = (
        applicant_notification(dossier=dossier, event=action, extra=notify_extra) if notify else None
    )
    follow_up_after_commit(dossier=dossier, notification=notification, deliver=status_changed)
    rollups.apply(dossier)
    return event
