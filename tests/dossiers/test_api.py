"""The dossiers API: filing with Idempotency-Key, lists and details scoped to the caller, actions, the public
lookup, and bearer tokens with scopes."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from oauth2_provider.models import AccessToken

from hanoismart.audit.models import AuditEvent
from hanoismart.directory.selectors import working_calendar
from hanoismart.documents.services import document_upload
from hanoismart.dossiers.api import DossierDetailOut, PaperOut, _detail
from hanoismart.dossiers.models import Dossier
from hanoismart.identity.models import ClientApp
from hanoismart.procedures.selectors import case_for_filing
from tests.dossiers.support import PDF, pdf_upload, submit, trace_counts
from tests.identity.oidc_support import make_app

pytestmark = pytest.mark.django_db


def _token(user, scope: str) -> str:
    value = f"tok-{user.pk}-{scope.replace(' ', '-')}"
    AccessToken.objects.create(
        user=user,
        application=ClientApp.objects.filter(client_id="test-app").first() or make_app(),
        token=value,
        scope=scope,
        expires=timezone.now() + dt.timedelta(hours=1),
    )
    return value


def _body(case) -> dict:
    component = case.components.get(is_mandatory=True)
    return {
        "procedure": case.procedure.national_code,
        "case": case.code,
        "form_data": {"child_name": "Nguyễn Văn Bé"},
        "components": [
            {
                "component_id": component.pk,
                "file_name": "gcs.pdf",
                "content_base64": base64.b64encode(PDF).decode(),
            }
        ],
    }


def _birth_certificate_in_store(resident):
    return document_upload(
        actor=resident, type_code="GCS", type_name="GCS", title="Giấy chứng sinh", upload=pdf_upload()
    )


def test_file_twice_with_one_idempotency_key_makes_one_dossier(client, personas, desk, birth_case):
    token = _token(personas.resident, "dossiers.write dossiers.read")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_IDEMPOTENCY_KEY": "k-1"}

    first = client.post("/api/v1/dossiers", _body(birth_case), content_type="application/json", **headers)
    second = client.post("/api/v1/dossiers", _body(birth_case), content_type="application/json", **headers)

    assert first.status_code == 201, first.content
    assert second.status_code == 201
    assert first.json()["code"] == second.json()["code"]
    assert first.json()["status"] == "1"
    assert first.json()["papers"] == [
        {"name": "Giấy chứng sinh", "source": "digitised", "is_supplement": False, "document_id": None}
    ]
    assert Dossier.objects.count() == 1


def test_filing_reads_and_writes_a_fixed_number_of_queries(
    client, personas, desk, birth_case, django_assert_max_num_queries
):
    """The whole filing with a paper reused from the store and one uploaded: token, the case's catalog rows
    (one plain read, checked against the process's copy), ward and committee, the store (one query for all
    picked documents); in one transaction the code (one upsert) and the dossier (its INSERT is the
    idempotency check), then its papers (one INSERT), the reuse count (one UPDATE), the event, the audit
    events of the reuse and of the filing (one INSERT) and the portal message: on PostgreSQL two
    statements (data-modifying CTEs), on SQLite one each. The actions offered need no staff positions
    read (the token's check said the resident holds none). The dossier is answered from memory; notifying
    and portal delivery are one task after commit, in the worker."""
    stored = _birth_certificate_in_store(personas.resident)
    mandatory, optional = birth_case.components.order_by("order")
    body = _body(birth_case)
    body["components"] = [
        {"component_id": mandatory.pk, "document_id": str(stored.public_id)},
        {
            "component_id": optional.pk,
            "file_name": "uy-quyen.pdf",
            "content_base64": base64.b64encode(PDF).decode(),
        },
    ]
    token = _token(personas.resident, "dossiers.write dossiers.read")
    working_calendar()  # the process keeps it for minutes: not a query of each filing
    # the process keeps the case's rows, and only reads them to compare: not the ORM's four queries
    case_for_filing(procedure_code=birth_case.procedure.national_code, case_code=birth_case.code)

    with django_assert_max_num_queries(8 if connection.vendor == "postgresql" else 13):
        response = client.post(
            "/api/v1/dossiers",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_IDEMPOTENCY_KEY="k-queries",
        )

    assert response.status_code == 201, response.content
    dossier = Dossier.objects.get()
    assert response.json()["code"] == dossier.code
    assert response.json()["actions"] == ["withdraw"]
    assert response.json()["papers"] == [
        {
            "name": "Giấy chứng sinh",
            "source": "reused",
            "is_supplement": False,
            "document_id": str(stored.public_id),
        },
        {
            "name": "Văn bản ủy quyền (nếu có)",
            "source": "digitised",
            "is_supplement": False,
            "document_id": None,
        },
    ]
    stored.refresh_from_db()
    assert stored.reuse_count == 1
    filing_audit = AuditEvent.objects.exclude(action="documents.uploaded").order_by("action")
    assert list(filing_audit.values_list("action", "object_ref", "subject_ref")) == [
        ("documents.reused", str(stored.public_id), personas.resident.public_id),
        ("dossiers.submit", str(dossier.public_id), personas.resident.public_id),
    ]


def test_read_only_token_cannot_file(client, personas, desk, birth_case):
    token = _token(personas.resident, "dossiers.read")

    response = client.post(
        "/api/v1/dossiers",
        _body(birth_case),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert Dossier.objects.count() == 0


def test_anonymous_gets_401(client, personas):
    assert client.get("/api/v1/dossiers").status_code == 401


def test_bad_form_is_a_400_with_field_errors(client, personas, desk, birth_case, sign_in):
    body = _body(birth_case)
    body["form_data"] = {}

    response = sign_in(personas.resident).post("/api/v1/dossiers", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "form_invalid"
    assert "child_name" in response.json()["errors"]


def test_list_is_scoped_and_query_count_is_flat(
    personas, desk, birth_case, sign_in, django_assert_max_num_queries
):
    for _ in range(5):
        submit(personas.resident, birth_case)
    resident = sign_in(personas.resident)
    clerk = sign_in(desk.clerk)
    other = sign_in(personas.clerk_other_ward)
    resident.get("/api/v1/dossiers")  # the first request of a session writes it; measure the next ones
    clerk.get("/api/v1/dossiers")

    with django_assert_max_num_queries(8):
        mine = resident.get("/api/v1/dossiers")
    with django_assert_max_num_queries(8):
        queue = clerk.get("/api/v1/dossiers?queue=to_receive")
    others = other.get("/api/v1/dossiers")

    assert mine.json()["count"] == 5
    assert queue.json()["count"] == 5
    assert others.json()["count"] == 0


def test_detail_events_and_actions(personas, desk, birth_case, sign_in):
    dossier = submit(personas.resident, birth_case)
    clerk = sign_in(desk.clerk)

    detail = clerk.get(f"/api/v1/dossiers/{dossier.code}")
    assert detail.status_code == 200
    assert detail.json()["actions"] == ["receive", "refuse", "request_supplement"]

    received = clerk.post(
        f"/api/v1/dossiers/{dossier.code}/actions/receive", {}, content_type="application/json"
    )
    assert received.status_code == 200
    assert received.json()["status"] == "2"
    events = sign_in(personas.resident).get(f"/api/v1/dossiers/{dossier.code}/events")
    assert [event["action"] for event in events.json()] == ["submit", "receive"]


def test_clerk_of_another_ward_gets_403_and_nothing_is_written(personas, desk, birth_case, sign_in):
    dossier = submit(personas.resident, birth_case)
    other = sign_in(personas.clerk_other_ward)
    before = trace_counts()

    assert other.get(f"/api/v1/dossiers/{dossier.code}").status_code == 403
    acted = other.post(
        f"/api/v1/dossiers/{dossier.code}/actions/receive", {}, content_type="application/json"
    )

    assert acted.status_code == 403
    assert trace_counts() == before
    dossier.refresh_from_db()
    assert dossier.status == "1"


def test_action_not_allowed_now_is_409_and_unknown_is_400(personas, desk, birth_case, sign_in):
    dossier = submit(personas.resident, birth_case)
    clerk = sign_in(desk.clerk)

    late = clerk.post(
        f"/api/v1/dossiers/{dossier.code}/actions/return",
        {},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    unknown = clerk.post(
        f"/api/v1/dossiers/{dossier.code}/actions/teleport", {}, content_type="application/json"
    )

    assert late.status_code == 409
    assert late.json()["detail"] == "This cannot be done now: the dossier is “Submitted”."
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_action"


def test_unknown_code_is_404(personas, sign_in):
    assert sign_in(personas.resident).get("/api/v1/dossiers/NOPE-1").status_code == 404


def test_public_lookup_needs_code_and_phone_and_shows_no_personal_data(client, personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)

    found = client.get(f"/api/v1/dossiers/lookup?code={dossier.code}&phone={personas.resident.phone}")
    wrong = client.get(f"/api/v1/dossiers/lookup?code={dossier.code}&phone=0999999999")

    assert found.status_code == 200
    assert set(found.json()) == {
        "code",
        "status",
        "status_label",
        "procedure",
        "agency",
        "submitted_at",
        "received_at",
        "due_at",
        "returned_at",
    }
    assert found.json()["status"] == "1"
    assert wrong.status_code == 404


def test_staff_with_a_bearer_token_are_offered_their_desk_actions(client, personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    clerk = {"HTTP_AUTHORIZATION": f"Bearer {_token(desk.clerk, 'dossiers.read dossiers.write')}"}
    other = {"HTTP_AUTHORIZATION": f"Bearer {_token(personas.clerk_other_ward, 'dossiers.read')}"}
    resident = {"HTTP_AUTHORIZATION": f"Bearer {_token(personas.resident, 'dossiers.read')}"}

    detail = client.get(f"/api/v1/dossiers/{dossier.code}", **clerk)
    queue = client.get("/api/v1/dossiers?queue=to_receive", **clerk)
    refused = client.get(f"/api/v1/dossiers/{dossier.code}", **other)
    own = client.get(f"/api/v1/dossiers/{dossier.code}", **resident)

    assert detail.status_code == 200
    assert detail.json()["actions"] == ["receive", "refuse", "request_supplement"]
    assert queue.json()["count"] == 1
    assert refused.status_code == 403
    assert own.json()["actions"] == ["withdraw"]
    received = client.post(
        f"/api/v1/dossiers/{dossier.code}/actions/receive", {}, content_type="application/json", **clerk
    )
    assert received.status_code == 200
    assert received.json()["status"] == "2"


def test_the_detail_is_the_answer_validation_would_give(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    request = RequestFactory().get("/")
    request.user = desk.clerk

    built = _detail(request, dossier)

    # what Ninja answered before: the same dossier in hand (its actions set by _detail), validated
    validated = DossierDetailOut.model_validate(dossier)
    assert isinstance(built, DossierDetailOut)
    assert all(isinstance(paper, PaperOut) for paper in built.papers)
    assert built.model_dump(mode="json") == validated.model_dump(mode="json")
    assert built.actions == ["receive", "refuse", "request_supplement"]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_status_label_is_djangos_own(language):
    """Dossier.get_status_display (kept labels) says what Django's generated one says, unknown values too."""
    from django.utils import translation

    from hanoismart.procedures.models import DossierStatus

    field = Dossier._meta.get_field("status")
    with translation.override(language):
        for value in [*DossierStatus.values, "99"]:
            dossier = Dossier(status=value)
            assert dossier.get_status_display() == dossier._get_FIELD_display(field)
            assert type(dossier.get_status_display()) is str
