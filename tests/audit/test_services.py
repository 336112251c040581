"""audit_record: who did what to whose data, by public id and label."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import connections, models
from django.utils.translation import gettext_lazy

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_record, prep_save, save_plan
from hanoismart.directory.models import Unit

pytestmark = pytest.mark.django_db


def test_records_actor_and_subject_by_public_id_and_label(personas):
    clerk, resident = personas.clerk_hoan_kiem, personas.resident

    audit_record(
        actor=clerk,
        action="dossiers.dossier_open",
        subject=resident,
        object_type="dossiers.dossier",
        object_ref="H26.70-251122-0001",
        unit_code="00070",
        ip="203.0.113.7",
        details={"reason": "review"},
        actor_role="clerk",
    )

    event = AuditEvent.objects.get()
    assert (event.actor_ref, event.actor_label, event.actor_role) == (
        clerk.public_id,
        "Phạm Văn Một Cửa",
        "clerk",
    )
    assert event.subject_ref == resident.public_id
    assert (event.action, event.object_type, event.object_ref) == (
        "dossiers.dossier_open",
        "dossiers.dossier",
        "H26.70-251122-0001",
    )
    assert (event.unit_code, event.ip, event.details) == ("00070", "203.0.113.7", {"reason": "review"})
    assert event.at is not None


def test_an_object_is_recorded_by_its_type_and_public_id(personas):
    resident = personas.resident

    audit_record(actor=resident, action="identity.account_edit", obj=resident, subject=resident)

    event = AuditEvent.objects.get()
    assert (event.object_type, event.object_ref) == ("identity.user", str(resident.public_id))


def test_an_object_without_a_public_id_is_recorded_by_its_primary_key(personas, hoan_kiem):
    audit_record(actor=personas.operator, action="directory.unit_edit", obj=hoan_kiem)

    event = AuditEvent.objects.get()
    assert (event.object_type, event.object_ref) == ("directory.unit", str(Unit.objects.get(code="00070").pk))


def test_a_system_action_has_no_actor():
    audit_record(actor=None, action="reporting.reminders_sent", details={"count": 3})

    event = AuditEvent.objects.get()
    assert (event.actor_ref, event.actor_label, event.subject_ref, event.ip) == (None, "", None, None)
    assert event.details == {"count": 3}


# Fields of each kind save_plan tells apart (text, a UUID, an IP, JSON, a time), given values it must pass
# through unchanged and values Django converts (a number or a lazy translation for text, a UUID as hex).
_PREP_FIELDS = ("action", "actor_label", "object_ref", "actor_ref", "object_type", "ip", "details", "at")


@pytest.mark.parametrize(
    "values",
    [
        ["text", "", None, uuid.uuid4(), None, "10.0.0.1", {"a": 1}, dt.datetime(2026, 1, 2, tzinfo=dt.UTC)],
        [None, None, None, uuid.uuid4().hex, 7, None, {}, None],
        [gettext_lazy("lazy"), "x", "y", None, "z", "::1", [], dt.datetime(2026, 1, 2, tzinfo=dt.UTC)],
        ["a", "b", "c", None, "d", None, {}, dt.datetime(2026, 1, 2, 7, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))],
    ],
)
def test_prep_save_gives_what_get_db_prep_save_gives(values):
    fields = [AuditEvent._meta.get_field(name) for name in _PREP_FIELDS]
    connection = connections["default"]
    expected = [f.get_db_prep_save(v, connection=connection) for f, v in zip(fields, values, strict=True)]
    prepared = prep_save(save_plan(fields, connection), values, connection)
    assert [type(v) for v in prepared] == [type(v) for v in expected]
    assert [repr(v) for v in prepared] == [repr(v) for v in expected]


def test_prep_save_makes_a_naive_time_aware_as_django_does():
    field = AuditEvent._meta.get_field("at")
    connection = connections["default"]
    naive = dt.datetime(2026, 1, 2, 3, 4)  # noqa: DTZ001 - the naive time under test
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        expected = field.get_db_prep_save(naive, connection=connection)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        (prepared,) = prep_save(save_plan([field], connection), [naive], connection)
    assert repr(prepared) == repr(expected)


def _field_of_kind(kind):
    """The first field of exactly this type among the project's models."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if type(field) is kind:
                return field
    raise LookupError(kind)


# The other kinds save_plan knows, each with None and values of the kept type or one Django converts.
@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("EmailField", [None, "a@example.vn", gettext_lazy("b@example.vn")]),
        ("BooleanField", [None, True, False, 1, "f"]),
        ("ForeignKey", [None, 7, "7"]),
        ("IntegerField", [None, 7, "7"]),
        ("PositiveIntegerField", [None, 7]),
        ("PositiveSmallIntegerField", [None, 7]),
        ("DateTimeField", [None, dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "2026-01-02T03:04:05+07:00"]),
    ],
)
def test_prep_save_gives_what_get_db_prep_save_gives_for_every_kind(kind, values):
    field = _field_of_kind(getattr(models, kind))
    connection = connections["default"]
    expected = [field.get_db_prep_save(v, connection=connection) for v in values]
    prepared = prep_save(save_plan([field] * len(values), connection), values, connection)
    assert [type(v) for v in prepared] == [type(v) for v in expected]
    assert [repr(v) for v in prepared] == [repr(v) for v in expected]
