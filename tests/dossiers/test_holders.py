"""Dossiers with who holds them: the records behind a figure read as rows a page at a time, with the same
columns as the late list and nothing of the applicant."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from hanoismart.dossiers.models import Dossier
from hanoismart.dossiers.selectors import DossierRecord, LateDossier, dossier_records
from hanoismart.dossiers.selectors.holders import HOLDER_FIELDS, RECORD_FIELDS
from hanoismart.procedures.models import DossierStatus as S
from hanoismart.procedures.models import WorkflowStep
from tests.dossiers.factories import DossierFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture
def dossiers(personas, desk, birth_case):
    examine = WorkflowStep.objects.get(case=birth_case, order=2)
    sign = WorkflowStep.objects.get(case=birth_case, order=3)

    def make(**values):
        values.setdefault("status", S.IN_PROGRESS)
        values.setdefault("received_at", NOW - dt.timedelta(days=5))
        return DossierFactory(agency=desk.agency, case=birth_case, applicant=personas.resident, **values)

    return {
        # overdue since yesterday, held by the officer
        "a": make(due_at=NOW - dt.timedelta(days=1), step=examine, assignee=desk.officer),
        # due tomorrow, at the leader's step, nobody assigned
        "b": make(due_at=NOW + dt.timedelta(days=1), step=sign),
        # past due but waiting for a supplement: not overdue
        "c": make(
            status=S.SUPPLEMENT_REQUESTED,
            due_at=NOW - dt.timedelta(days=1),
            paused_since=NOW - dt.timedelta(days=2),
        ),
        # returned late: finished, not overdue
        "d": make(status=S.RETURNED, due_at=NOW - dt.timedelta(days=3), finished_at=NOW, timeliness="late"),
    }


def _records(dossiers: dict[str, Dossier]) -> list[DossierRecord]:
    wanted = Dossier.objects.filter(pk__in=[d.pk for d in dossiers.values()]).order_by("code")
    return dossier_records(dossiers=wanted, now=NOW)[0:10]


def test_a_record_says_what_the_dossier_is_where_it_stands_and_who_holds_it(dossiers, desk):
    with translation.override("en"):
        rows = {row.code: row for row in _records(dossiers)}

    a, b, c, d = (rows[dossiers[key].code] for key in "abcd")
    assert (a.holder, a.holder_role, a.step_name) == ("Bùi Văn Thẩm Định", "officer", "Thẩm định, xác minh")
    assert (a.status, a.status_label, a.is_overdue) == (S.IN_PROGRESS, "In progress", True)
    assert (a.unit_code, a.agency_code, a.agency_name) == ("00070", desk.agency.code, desk.agency.name)
    assert (a.procedure_code, a.procedure_name) == (
        dossiers["a"].procedure.national_code,
        dossiers["a"].procedure.name,
    )
    assert (a.received_at, a.due_at, a.finished_at) == (
        NOW - dt.timedelta(days=5),
        NOW - dt.timedelta(days=1),
        None,
    )
    assert (b.holder, b.holder_role, b.holder_role_label, b.is_overdue) == (
        "",
        "leader",
        "Unit leader",
        False,
    )
    assert c.is_overdue is False  # its clock stands still
    assert (d.status_label, d.timeliness, d.timeliness_label, d.is_overdue) == (
        "Result returned",
        "late",
        "Late",
        False,
    )


def test_records_and_the_late_list_read_the_same_columns_and_none_of_the_applicant():
    assert RECORD_FIELDS[: len(HOLDER_FIELDS)] == HOLDER_FIELDS
    assert not [name for name in RECORD_FIELDS if "applicant" in name or name.startswith("created_by")]
    shared = {f.name for f in dataclasses.fields(LateDossier)} & {
        f.name for f in dataclasses.fields(DossierRecord)
    }
    assert {"code", "holder", "holder_role", "holder_role_label", "step_name", "due_at"} <= shared
    assert not {"applicant", "applicant_name", "applicant_national_id"} & {
        f.name for f in dataclasses.fields(DossierRecord)
    }


def test_a_paginator_reads_one_count_and_one_page(dossiers):
    wanted = Dossier.objects.filter(pk__in=[d.pk for d in dossiers.values()]).order_by("code")
    records = dossier_records(dossiers=wanted, now=NOW)

    with CaptureQueriesContext(connection) as captured:
        page = Paginator(records, 3).get_page(2)
        rows = list(page.object_list)

    assert len(captured.captured_queries) == 2  # the count, the page
    assert page.paginator.count == 4
    assert [row.code for row in rows] == [sorted(d.code for d in dossiers.values())[3]]
    with pytest.raises(TypeError):
        records[0]
