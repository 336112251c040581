"""Recording audit events: every service that writes (or opens) personal data calls ``audit_record``, or, for
several events of one write, builds them with ``audit_event_build`` and records them together with
``audit_events_record`` (one INSERT), or has them written by the very statement of its own write
(``audit_events_statements``)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from hanoismart.audit.models import AuditEvent

# Every column of the row: the primary key is a UUID made with the instance, so nothing comes back.
_FIELDS = tuple(field for field in AuditEvent._meta.local_concrete_fields if not field.generated)


def audit_event_build(
    *,
    actor: Any | None,
    action: str,
    obj: Any | None = None,
    object_type: str = "",
    object_ref: str = "",
    subject: Any | None = None,
    unit_code: str = "",
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    actor_role: str = "",
) -> AuditEvent:
    """One event, not saved yet: record it with ``audit_events_record``. ``actor`` and ``subject`` are
    accounts (anything with ``public_id``); ``obj`` is the model instance acted on (its type and public id,
    or pk, are recorded)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_ref = object_ref or str(getattr(obj, "public_id", None) or obj.pk)
    return AuditEvent(
        actor_ref=getattr(actor, "public_id", None),
        actor_label=str(actor) if actor is not None else "",
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_ref=object_ref,
        subject_ref=getattr(subject, "public_id", None),
        unit_code=unit_code,
        ip=ip,
        details=details or {},
    )


# The kind of a DateTimeField's values a backend that takes datetimes as they are gives back unchanged.
_AWARE_DATETIME = object()
# The kind of no value: of such a field only None is given back unchanged.
_ONLY_NONE = object()
# Fields that give back a value of this exact type unchanged on every backend.
_KEPT_TYPES: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.EmailField: str,
    models.BooleanField: bool,
}
# Fields that give back None as None, and a value through the backend's operations (PostgreSQL's wrap an
# integer in psycopg's Int2/Int4/Int8, SQLite's turn a date-time into text).
_NONE_KEPT = frozenset(
    {
        models.ForeignKey,
        models.DateTimeField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
    }
)

SavePlan = list[tuple[models.Field, Any]]


def save_plan(fields: Iterable[models.Field], connection: BaseDatabaseWrapper) -> SavePlan:
    """Each field with the kind of the values its ``get_db_prep_save`` gives back unchanged on ``connection``
    (None when that is not known): a plain ``CharField``, ``TextField`` or ``EmailField`` keeps a ``str``, a
    ``BooleanField`` a ``bool``, a ``UUIDField`` a ``UUID`` where the database has a UUID type, a
    ``DateTimeField`` an aware ``datetime`` on PostgreSQL (its adapter takes them as they are); all of them,
    foreign keys and integer fields keep None. Exact types only: a subclass may prepare values its own way.
    Here because every app's hand-written statements use it (hanoismart.identity.statements,
    hanoismart.dossiers.services.base) and audit is below them all."""
    native_uuid = connection.features.has_native_uuid_field
    datetimes_as_they_are = connection.vendor == "postgresql"
    plan: SavePlan = []
    for field in fields:
        kind = type(field)
        if kind in _KEPT_TYPES:
            plan.append((field, _KEPT_TYPES[kind]))
        elif kind is models.UUIDField and native_uuid:
            plan.append((field, uuid.UUID))
        elif kind is models.DateTimeField and datetimes_as_they_are:
            plan.append((field, _AWARE_DATETIME))
        elif kind in _NONE_KEPT:
            plan.append((field, _ONLY_NONE))
        else:
            plan.append((field, None))
    return plan


def prep_save(plan: SavePlan, values: Iterable[Any], connection: BaseDatabaseWrapper) -> list[Any]:
    """``field.get_db_prep_save(value)`` for each field of ``plan`` and its value, without Django's chain of
    calls for a value it would give back unchanged."""
    prepared = []
    for (field, unchanged), value in zip(plan, values, strict=True):
        if unchanged is not None and (
            value is None
            or type(value) is unchanged
            # A naive one would be made aware, with a warning (USE_TZ).
            or (unchanged is _AWARE_DATETIME and type(value) is datetime and value.utcoffset() is not None)
        ):
            prepared.append(value)
        else:
            prepared.append(field.get_db_prep_save(value, connection=connection))
    return prepared


@functools.lru_cache(maxsize=64)
def _insert_sql(alias: str, rows: int) -> str:
    quote = connections[alias].ops.quote_name
    row = "({})".format(", ".join(["%s"] * len(_FIELDS)))
    return "INSERT INTO {} ({}) VALUES {}".format(  # noqa: S608 - names from _meta
        quote(AuditEvent._meta.db_table),
        ", ".join(quote(field.column) for field in _FIELDS),
        ", ".join([row] * rows),
    )


@functools.lru_cache(maxsize=16)
def _save_plan(alias: str) -> SavePlan:
    return save_plan(_FIELDS, connections[alias])


# Each field's attribute, and the field when its type has a pre_save of its own (the auto_now_add time):
# the others' is the attribute's value.
_PRE_SAVE = tuple(
    (field.attname, field if type(field).pre_save is not models.Field.pre_save else None) for field in _FIELDS
)


def _event_params(event: AuditEvent, connection: BaseDatabaseWrapper) -> list[Any]:
    # As save() prepares them: the auto_now_add time, JSON, the IP address.
    values = [
        getattr(event, name) if field is None else field.pre_save(event, True) for name, field in _PRE_SAVE
    ]
    return prep_save(_save_plan(connection.alias), values, connection)


@functools.lru_cache(maxsize=16)
def _insert_from_sql(alias: str, source: str) -> str:
    quote = connections[alias].ops.quote_name
    return "INSERT INTO {} ({}) SELECT {} FROM {}".format(  # noqa: S608 - names from _meta, source from code
        quote(AuditEvent._meta.db_table),
        ", ".join(quote(field.column) for field in _FIELDS),
        ", ".join(["%s"] * len(_FIELDS)),
        source,
    )


def audit_events_statements(
    events: Sequence[AuditEvent], *, alias: str, source: str
) -> list[tuple[str, list[Any]]]:
    """``audit_events_record`` as statements for a caller to run inside a statement of its own (a
    data-modifying WITH on PostgreSQL), so that a write and its audit events are one round trip: one
    ``INSERT ... SELECT ... FROM source`` and its parameters per event, which records the event only when the
    caller's common table ``source`` has a row (the write happened). Values prepared as ``save()`` does."""
    connection = connections[alias]
    sql = _insert_from_sql(alias, source)
    return [(sql, _event_params(event, connection)) for event in events]


def audit_events_record(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """Append ``events`` (from ``audit_event_build``) to the log in one INSERT, in the caller's transaction.

    The statement is made once per database and number of rows (the ORM compiles one per call); the values
    are prepared exactly as ``save()`` prepares them (``auto_now_add`` time, JSON, IP address)."""
    if not events:
        return []
    alias = router.db_for_write(AuditEvent)
    connection = connections[alias]
    batch = max(connection.ops.bulk_batch_size(_FIELDS, events), 1)
    # As save() does: an error here marks the caller's transaction for rollback.
    with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
        for start in range(0, len(events), batch):
            chunk = events[start : start + batch]
            values = [value for event in chunk for value in _event_params(event, connection)]
            cursor.execute(_insert_sql(alias, len(chunk)), values)
    for event in events:
        event._state.adding = False
        event._state.db = alias
    return list(events)


def audit_record(**fields: Any) -> AuditEvent:
    """Append one event: ``audit_event_build``'s keyword arguments, written at once."""
    return audit_events_record([audit_event_build(**fields)])[0]
