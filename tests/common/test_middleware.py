from urllib.parse import urlencode

import pytest

from hanoismart.identity.models import User

pytestmark = pytest.mark.django_db


def test_a_nul_in_an_api_query_is_a_400_in_json(client):
    response = client.get("/api/v1/units", {"q": "hoan\x00kiem"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request contains a character that is not allowed (NUL).",
    }


def test_a_nul_in_a_json_body_is_refused_before_the_view(personas, sign_in):
    response = sign_in(personas.resident).post(
        "/api/v1/organisations", '{"name": "A\\u0000B"}', content_type="application/json"
    )

    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_nul_in_a_form_is_a_400_page_and_nothing_is_saved(client, content_type):
    before = User.objects.count()
    fields = {"full_name": "Nguyễn\x00", "national_id": "001099000777"}
    if content_type == "multipart/form-data":
        response = client.post("/register/", fields, HTTP_ACCEPT_LANGUAGE="en")
    else:
        response = client.post("/register/", urlencode(fields), content_type, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "The request contains a character that is not allowed (NUL)." in response.content.decode()
    assert User.objects.count() == before
