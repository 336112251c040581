import uuid

import pytest
from django.test import Client
from django.urls import reverse

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.selectors import audit_events_about
from hanoismart.identity.models import Membership, MembershipRole
from tests.identity.factories import OrganisationFactory, UserFactory


def _person_url(user):
    return reverse("identity:staff_person", args=[user.public_id])


def test_url_names():
    assert reverse("identity:staff_people") == "/staff/people/"
    some = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert reverse("identity:staff_person", args=[some]) == f"/staff/people/{some}/"


# -- the record page ------------------------------------------------------------------------------------


def test_clerk_of_the_ward_opens_the_record_and_the_resident_sees_who(personas, sign_in):
    resident = personas.resident
    Membership.objects.create(
        user=resident,
        organisation=OrganisationFactory(name="HTX Rau Sạch Hoàn Kiếm"),
        role=MembershipRole.AUTHORISED,
    )

    response = sign_in(personas.clerk_hoan_kiem).get(_person_url(resident), REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Trần Thị Dân" in html
    assert resident.national_id in html  # the record itself shows the full number
    assert "HTX Rau Sạch Hoàn Kiếm" in html
    event = audit_events_about(subject_ref=resident.public_id).get()
    assert (event.action, event.actor_label, event.actor_role, event.unit_code, event.ip) == (
        "identity.person.viewed",
        "Phạm Văn Một Cửa",
        "clerk",
        "00070",
        "198.51.100.4",
    )
    # the resident's own account page lists the clerk under "who accessed my data"
    account = sign_in(resident).get(reverse("identity:account"))
    assert account.status_code == 200
    assert "Phạm Văn Một Cửa" in account.content.decode()


def test_clerk_of_another_ward_gets_404_and_nothing_is_recorded(personas, sign_in):
    response = sign_in(personas.clerk_other_ward).get(_person_url(personas.resident))
    assert response.status_code == 404
    assert AuditEvent.objects.count() == 0


def test_unknown_record_is_404(personas, sign_in):
    response = sign_in(personas.city_manager).get(f"/staff/people/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert AuditEvent.objects.count() == 0


def test_city_manager_opens_any_record(personas, sign_in, ba_dinh):
    of_ba_dinh = UserFactory(ward=ba_dinh, full_name="Hồ Văn Bình")
    response = sign_in(personas.city_manager).get(_person_url(of_ba_dinh))
    assert response.status_code == 200
    assert "Hồ Văn Bình" in response.content.decode()
    assert audit_events_about(subject_ref=of_ba_dinh.public_id).get().actor_role == "manager"


def test_resident_gets_403_and_anonymous_is_sent_to_sign_in(personas, sign_in):
    other = UserFactory(ward=personas.resident.ward)
    assert sign_in(personas.resident).get(_person_url(other)).status_code == 403
    response = Client().get(_person_url(other))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:sign_in"))
    assert AuditEvent.objects.count() == 0


def test_staff_without_second_factor_are_kept_out(personas):
    client = Client()
    client.force_login(personas.clerk_hoan_kiem)
    response = client.get(_person_url(personas.resident))
    assert response.status_code in (302, 403)
    assert AuditEvent.objects.count() == 0


def test_only_get_is_allowed(personas, sign_in):
    response = sign_in(personas.clerk_hoan_kiem).post(_person_url(personas.resident))
    assert response.status_code == 405
    assert AuditEvent.objects.count() == 0


# -- the search page ------------------------------------------------------------------------------------


def test_search_by_name_without_diacritics_masks_national_ids(personas, sign_in):
    resident = personas.resident
    response = sign_in(personas.clerk_hoan_kiem).get(reverse("identity:staff_people"), {"q": "tran thi dan"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Trần Thị Dân" in html
    assert resident.masked_national_id in html
    assert resident.national_id not in html
    assert _person_url(resident) in html
    assert AuditEvent.objects.count() == 0


def test_search_is_scoped_to_the_units_served(personas, sign_in):
    response = sign_in(personas.clerk_other_ward).get(
        reverse("identity:staff_people"), {"q": personas.resident.national_id}
    )
    assert response.status_code == 200
    assert "Trần Thị Dân" not in response.content.decode()
    assert response.context["page"].paginator.count == 0


def test_search_pages_and_tolerates_bad_page_numbers(personas, sign_in, hoan_kiem):
    for n in range(25):
        UserFactory(full_name=f"Ngô Thị Trang {n:02d}", ward=hoan_kiem)
    client = sign_in(personas.clerk_hoan_kiem)
    first = client.get(reverse("identity:staff_people"), {"q": "ngo thi trang"})
    assert first.context["page"].paginator.count == 25
    assert len(first.context["page"].object_list) == 20
    last = client.get(reverse("identity:staff_people"), {"q": "ngo thi trang", "page": "999"})
    names = [p.full_name for p in last.context["page"].object_list]
    assert names == [f"Ngô Thị Trang {n}" for n in range(20, 25)]
    assert client.get(reverse("identity:staff_people"), {"q": "ngo", "page": "abc"}).status_code == 200


def test_empty_search_shows_the_form_only(personas, sign_in):
    response = sign_in(personas.clerk_hoan_kiem).get(reverse("identity:staff_people"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0


@pytest.mark.parametrize("who", ["resident"])
def test_search_refused_to_residents(personas, sign_in, who):
    response = sign_in(getattr(personas, who)).get(reverse("identity:staff_people"), {"q": "tran"})
    assert response.status_code == 403


def test_search_sends_anonymous_to_sign_in():
    response = Client().get(reverse("identity:staff_people"), {"q": "tran"})
    assert response.status_code == 302
