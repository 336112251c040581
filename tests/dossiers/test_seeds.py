"""The dossiers demo seed: a history whose codes and sequences hold, figures the statistics can read, the
demo resident's records, and a second run that adds nothing."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone

from hanoismart.directory.models import AgencyKind
from hanoismart.documents.models import Provenance
from hanoismart.documents.selectors import documents_matching
from hanoismart.dossiers import seeds
from hanoismart.dossiers.models import Dossier, DossierCodeSequence, DossierEvent, Rating
from hanoismart.dossiers.selectors.stats import dossier_stats
from hanoismart.dossiers.services.codes import dossier_code_allocate
from hanoismart.procedures import seeds as procedure_seeds
from hanoismart.procedures.models import DossierStatus as S
from tests.directory.factories import AgencyFactory, hanoi
from tests.identity.factories import UserFactory

CODE = re.compile(r"^(?P<agency>.+)-(?P<day>\d{6})-(?P<number>\d{4})$")


@pytest.fixture
def demo_city(personas, desk):
    """The seeded catalog, the personas' wards and Sở Xây dựng, the demo resident of Hoàn Kiếm."""
    procedure_seeds.run(demo=False, stdout=io.StringIO())
    AgencyFactory(code=seeds.SO_XAY_DUNG, name="Sở Xây dựng", kind=AgencyKind.DEPARTMENT, unit=hanoi())
    return UserFactory(national_id="001099000001", full_name="Nguyễn Văn An", ward=personas.resident.ward)


def test_history_codes_follow_the_rule_and_sequences_move_past_them(demo_city):
    made = seeds.history_seed(days=20, scale=1.0)

    dossiers = list(Dossier.objects.values_list("code", "agency__code", "submitted_at"))
    assert made == len(dossiers) > 0
    per_day: Counter = Counter()
    for code, agency_code, submitted_at in dossiers:
        match = CODE.match(code)
        assert match is not None
        assert match["agency"] == agency_code
        assert match["day"] == f"{timezone.localtime(submitted_at):%y%m%d}"
        per_day[(agency_code, timezone.localtime(submitted_at).date())] += 1
    sequences = {(s.agency_code, s.day): s.last_number for s in DossierCodeSequence.objects.all()}
    assert sequences == dict(per_day)
    # a live filing on the busiest day gets the next number, not one already taken
    (agency_code, day), count = per_day.most_common(1)[0]
    with transaction.atomic():
        code = dossier_code_allocate(agency_code=agency_code, on_date=day)
    assert code == f"{agency_code}-{day:%y%m%d}-{count + 1:04d}"


def test_history_goes_to_the_staffed_wards_and_departments(demo_city):
    seeds.history_seed(days=60)

    by_agency = Counter(Dossier.objects.values_list("agency__code", flat=True))
    assert set(by_agency) == {"000.70.01.H26", "000.04.01.H26", seeds.SO_TU_PHAP, seeds.SO_XAY_DUNG}
    assert Dossier.objects.filter(status=S.RETURNED).exists()
    # every dossier has its trace, received ones start with their filing
    assert not Dossier.objects.filter(events__isnull=True).exists()
    first_actions = set(
        DossierEvent.objects.filter(dossier__received_at__isnull=False)
        .order_by("dossier_id", "at", "id")
        .values_list("dossier_id", "action")
        .distinct()
    )
    assert {action for _pk, action in first_actions} >= {"submit", "register", "receive"}
    # ratings keep their own moment, after the return
    for rating in Rating.objects.select_related("dossier"):
        assert rating.created_at > rating.dossier.returned_at


def test_statistics_read_the_history(demo_city, personas):
    seeds.history_seed(days=60)
    today = timezone.localdate()
    start = today - dt.timedelta(days=61)

    report = dossier_stats(actor=personas.city_manager, date_from=start, date_to=today + dt.timedelta(days=1))

    received = Dossier.objects.filter(received_at__isnull=False).count()
    online = Dossier.objects.filter(received_at__isnull=False, channel="online").count()
    assert report.total.figures["received"] == received
    assert report.total.figures["online"] == online
    assert report.total.score is not None


def test_demo_resident_gets_a_signed_result_a_reusable_paper_and_a_supplement_to_give(demo_city, desk):
    resident = demo_city

    seeds.run(demo=True, stdout=io.StringIO())

    returned = Dossier.objects.get(created_by=resident, idempotency_key=seeds.RESULT_KEY)
    assert returned.status == S.RETURNED
    assert returned.result_document.owner_user == resident
    assert returned.result_document.is_signed
    assert returned.result_document.provenance == Provenance.RESULT
    assert returned.result_document.source_dossier_code == returned.code
    assert [d.type_code for d in documents_matching(actor=resident, type_code="GCS")] == ["GCS"]
    waiting = Dossier.objects.get(created_by=resident, idempotency_key=seeds.SUPPLEMENT_KEY)
    assert waiting.status == S.SUPPLEMENT_REQUESTED
    assert waiting.paused_since is not None
    request = waiting.events.get(action="request_supplement")
    assert request.details["resume_status"] == S.IN_PROGRESS


def test_second_run_adds_nothing(demo_city):
    out = io.StringIO()
    seeds.run(demo=True, stdout=out)
    counts = (Dossier.objects.count(), DossierEvent.objects.count(), Rating.objects.count())

    again = io.StringIO()
    seeds.run(demo=True, stdout=again)

    assert (Dossier.objects.count(), DossierEvent.objects.count(), Rating.objects.count()) == counts
    assert again.getvalue() == "dossiers: 0 dossiers of the past twelve months created\n"


def test_without_demo_nothing_is_made(demo_city):
    seeds.run(demo=False, stdout=io.StringIO())

    assert not Dossier.objects.exists()
