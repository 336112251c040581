import uuid

import pytest
from django.test import Client

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.selectors import audit_events_about
from hanoismart.identity.models import AssuranceLevel, Membership, MembershipRole, Organisation
from tests.identity.factories import OrganisationFactory, UserFactory

API = "/api/v1"


# -- /me ----------------------------------------------------------------------------------------------------


def test_me_answers_401_json_to_anonymous_in_their_language(db):
    response = Client().get(f"{API}/me")
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Vui lòng đăng nhập để sử dụng chức năng này.",
    }
    english = Client().get(f"{API}/me", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json() == {"code": "not_authenticated", "detail": "Sign in to use this."}


def test_me_of_a_resident(personas, sign_in, hoan_kiem):
    resident = personas.resident
    organisation = OrganisationFactory(name="Công ty TNHH Sen Vàng", ward=hoan_kiem)
    Membership.objects.create(
        user=resident, organisation=organisation, role=MembershipRole.LEGAL_REPRESENTATIVE
    )

    body = sign_in(resident).get(f"{API}/me", HTTP_ACCEPT_LANGUAGE="en").json()

    assert body == {
        "public_id": str(resident.public_id),
        "national_id": resident.national_id,
        "full_name": "Trần Thị Dân",
        "date_of_birth": "1990-01-01",
        "phone": resident.phone,
        "email": None,
        "ward": {"code": "00070", "name": "Phường Hoàn Kiếm"},
        "assurance_level": 2,
        "assurance_level_label": "Level 2: verified identity and face",
        "is_staff_member": False,
        "positions": [],
        "organisations": [
            {
                "public_id": str(organisation.public_id),
                "tax_code": "0100109106",
                "name": "Công ty TNHH Sen Vàng",
                "kind": "enterprise",
                "address": "",
                "ward": {"code": "00070", "name": "Phường Hoàn Kiếm"},
                "role": "legal_representative",
            }
        ],
    }


def test_me_of_a_clerk_lists_the_position(personas, sign_in):
    clerk = personas.clerk_hoan_kiem
    position = clerk.positions.get()
    body = sign_in(clerk).get(f"{API}/me", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["is_staff_member"] is True
    assert body["positions"] == [
        {
            "role": "clerk",
            "role_label": "One-stop desk clerk",
            "title": "",
            "agency": {
                "code": "000.70.01.H26",
                "name": "UBND Phường Hoàn Kiếm",
                "unit": {"code": "00070", "name": "Phường Hoàn Kiếm"},
            },
            "valid_from": position.valid_from.isoformat(),
            "valid_to": None,
        }
    ]


def test_my_organisations(personas, sign_in):
    assert sign_in(personas.resident).get(f"{API}/me/organisations").json() == []
    assert Client().get(f"{API}/me/organisations").status_code == 401


# -- POST /organisations ------------------------------------------------------------------------------------


def test_register_an_organisation(personas, sign_in):
    client = sign_in(personas.resident)
    payload = {
        "tax_code": "0100109106",
        "name": "Công ty TNHH Hồ Gươm",
        "kind": "enterprise",
        "ward_code": "00070",
    }

    response = client.post(f"{API}/organisations", payload, content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    organisation = Organisation.objects.get()
    assert body == {
        "public_id": str(organisation.public_id),
        "tax_code": "0100109106",
        "name": "Công ty TNHH Hồ Gươm",
        "kind": "enterprise",
        "address": "",
        "ward": {"code": "00070", "name": "Phường Hoàn Kiếm"},
        "role": "legal_representative",
    }
    assert AuditEvent.objects.filter(action="identity.organisation.registered").count() == 1


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"tax_code": "0100109107"}, 400, "tax_code_checksum"),
        ({"tax_code": "01001"}, 400, "tax_code_format"),
        ({"ward_code": "99999"}, 400, "ward_unknown"),
        ({"kind": "corporation"}, 422, "invalid"),
        ({"name": ""}, 422, "invalid"),
        ({"tax_code": "0" * 50}, 422, "invalid"),
    ],
)
def test_register_refuses_bad_input_with_4xx(personas, sign_in, payload, status, code):
    body = {"tax_code": "0100109106", "name": "Công ty TNHH Hồ Gươm", "kind": "enterprise", **payload}
    response = sign_in(personas.resident).post(
        f"{API}/organisations", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert Organisation.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_register_messages_are_translated(personas, sign_in):
    body = {"tax_code": "0100109107", "name": "Công ty", "kind": "enterprise"}
    response = sign_in(personas.resident).post(
        f"{API}/organisations", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.json()["detail"] == "This tax code's check digit is wrong."
    assert response.json()["errors"] == {"tax_code": ["This tax code's check digit is wrong."]}


def test_register_a_taken_tax_code_is_409(personas, sign_in):
    OrganisationFactory(tax_code="0100109106")
    body = {"tax_code": "0100109106", "name": "Công ty", "kind": "enterprise"}
    response = sign_in(personas.resident).post(f"{API}/organisations", body, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "tax_code_taken"
    assert Organisation.objects.count() == 1


def test_register_refuses_unverified_and_anonymous(db, sign_in):
    body = {"tax_code": "0100109106", "name": "Công ty", "kind": "enterprise"}
    unverified = UserFactory(assurance_level=AssuranceLevel.SELF_REGISTERED)
    response = sign_in(unverified).post(f"{API}/organisations", body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (403, "assurance_too_low")
    assert Client().post(f"{API}/organisations", body, content_type="application/json").status_code == 401
    assert Organisation.objects.count() == 0


def test_register_needs_the_csrf_token(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.resident)
    body = {"tax_code": "0100109106", "name": "Công ty", "kind": "enterprise"}
    response = client.post(f"{API}/organisations", body, content_type="application/json")
    assert response.status_code in (401, 403)
    assert Organisation.objects.count() == 0


def test_register_malformed_json_is_4xx(personas, sign_in):
    response = sign_in(personas.resident).post(f"{API}/organisations", "{", content_type="application/json")
    assert 400 <= response.status_code < 500


# -- staff -------------------------------------------------------------------------------------------------


def test_staff_search_is_scoped_and_masks_ids(personas, sign_in):
    resident = personas.resident
    body = sign_in(personas.clerk_hoan_kiem).get(f"{API}/staff/people", {"q": "tran thi"}).json()
    assert body == {
        "count": 1,
        "page": 1,
        "page_size": 50,
        "items": [
            {
                "public_id": str(resident.public_id),
                "full_name": "Trần Thị Dân",
                "masked_national_id": resident.masked_national_id,
                "birth_year": 1990,
                "ward": {"code": "00070", "name": "Phường Hoàn Kiếm"},
                "assurance_level": 2,
            }
        ],
    }
    other = sign_in(personas.clerk_other_ward).get(f"{API}/staff/people", {"q": resident.national_id}).json()
    assert (other["count"], other["items"]) == (0, [])
    assert AuditEvent.objects.count() == 0


def test_staff_search_refused_to_residents_and_anonymous(personas, sign_in):
    response = sign_in(personas.resident).get(f"{API}/staff/people", {"q": "tran"})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert Client().get(f"{API}/staff/people", {"q": "tran"}).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 101},
        {"q": "tran", "page": "0"},
        {"q": "tran", "page": "abc"},
        {"q": "tran", "page": str(10**20)},
        {"q": "tran", "page_size": "1000"},
    ],
)
def test_staff_search_bad_parameters_are_422(personas, sign_in, params):
    response = sign_in(personas.city_manager).get(f"{API}/staff/people", params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"


def test_staff_search_pages_with_a_bounded_number_of_queries(
    personas, sign_in, hoan_kiem, django_assert_max_num_queries
):
    for n in range(30):
        UserFactory(full_name=f"Lê Văn Tùng {n:02d}", ward=hoan_kiem)
    client = sign_in(personas.city_manager)
    client.get(f"{API}/me")  # the session's first request also records the device
    # session, user, second factor, positions (x2), count, page: the same however many people match
    with django_assert_max_num_queries(8):
        body = client.get(f"{API}/staff/people", {"q": "le van tung", "page": 2, "page_size": 25}).json()
    assert body["count"] == 30
    assert [item["full_name"] for item in body["items"]] == [f"Lê Văn Tùng {n:02d}" for n in range(25, 30)]
    beyond = client.get(f"{API}/staff/people", {"q": "le van tung", "page": 9}).json()
    assert (beyond["count"], beyond["items"]) == (30, [])


def test_staff_open_record_is_audited(personas, sign_in):
    resident = personas.resident
    response = sign_in(personas.clerk_hoan_kiem).get(f"{API}/staff/people/{resident.public_id}")
    assert response.status_code == 200
    body = response.json()
    assert (body["national_id"], body["full_name"], body["organisations"]) == (
        resident.national_id,
        "Trần Thị Dân",
        [],
    )
    event = audit_events_about(subject_ref=resident.public_id).get()
    assert (event.action, event.actor_label, event.unit_code) == (
        "identity.person.viewed",
        "Phạm Văn Một Cửa",
        "00070",
    )


def test_staff_open_outside_scope_is_404_without_audit(personas, sign_in):
    response = sign_in(personas.clerk_other_ward).get(f"{API}/staff/people/{personas.resident.public_id}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert sign_in(personas.city_manager).get(f"{API}/staff/people/{uuid.uuid4()}").status_code == 404
    assert sign_in(personas.city_manager).get(f"{API}/staff/people/not-a-uuid").status_code == 422
    assert AuditEvent.objects.count() == 0


def test_staff_open_refused_to_residents(personas, sign_in):
    other = UserFactory(ward=personas.resident.ward)
    response = sign_in(personas.resident).get(f"{API}/staff/people/{other.public_id}")
    assert response.status_code == 403
    assert Client().get(f"{API}/staff/people/{other.public_id}").status_code == 401
    assert AuditEvent.objects.count() == 0


def test_openapi_documents_the_identity_operations(db):
    schema = Client().get(f"{API}/openapi.json").json()
    for route in ("/api/v1/me", "/api/v1/me/organisations", "/api/v1/organisations", "/api/v1/staff/people"):
        assert route in schema["paths"]
    assert "/api/v1/staff/people/{public_id}" in schema["paths"]
