import pytest
from django.utils import timezone

from hanoismart.procedures.models import Procedure


def _get(client, url, **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def test_search_finds_birth_registration_without_diacritics(client, catalog):
    response = _get(client, "/api/v1/procedures", q="dang ky khai sinh", page_size=3)
    assert response.status_code == 200
    body = response.json()
    assert body["page"] == 1
    assert body["page_size"] == 3
    assert body["items"][0]["code"] == "1.001193"
    assert body["items"][0]["field"] == {"code": "ho-tich", "name": "Hộ tịch"}
    assert set(body["items"][0]) == {
        "code",
        "is_code_provisional",
        "local_code",
        "name",
        "field",
        "level",
        "online_level",
        "subjects",
        "popularity",
    }


def test_search_filters_by_level(client, catalog):
    body = _get(client, "/api/v1/procedures", level="city", page_size=200).json()
    assert body["count"] == Procedure.objects.filter(level="city").count()
    assert {item["level"] for item in body["items"]} == {"city"}


def test_search_query_count_is_bounded(client, catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        assert _get(client, "/api/v1/procedures", page_size=50).status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"level": "province"}, {"page": 0}, {"page_size": 201}, {"subject": "alien"}, {"q": "x" * 201}],
)
def test_bad_search_input_is_a_422_in_our_shape(client, catalog, params):
    response = _get(client, "/api/v1/procedures", **params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert response.json()["detail"] == "Some fields are not valid."


def test_detail_has_cases_fees_components_form_and_steps(client, catalog):
    response = _get(client, "/api/v1/procedures/2.000720")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "2.000720"
    case = body["cases"][0]
    assert case["time_unit"] == "working_days"
    counter = case["fees"]["counter"]
    assert counter["resident_pays"] == 100_000
    online = case["fees"]["online"]
    expected_online = 0 if timezone.localdate().year >= 2026 else 100_000
    assert online["resident_pays"] == expected_online
    assert case["components"][0]["document_type_code"] == "CCCD"
    assert case["form_schema"]["type"] == "object"
    assert [step["role"] for step in case["steps"]] == ["clerk", "officer", "leader", "clerk"]


def test_unknown_code_is_404_and_malformed_code_is_422(client, catalog):
    missing = _get(client, "/api/v1/procedures/9.999999")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "detail": "No procedure has this code."}
    malformed = _get(client, "/api/v1/procedures/abc")
    assert malformed.status_code == 422
    assert malformed.json()["code"] == "invalid"


def test_fields_list(client, catalog):
    body = _get(client, "/api/v1/procedure-fields").json()
    assert {"code": "ho-tich", "name": "Hộ tịch"} in body
    assert [item["name"] for item in body] == sorted(item["name"] for item in body)


def test_fields_filtered_by_level(client, catalog):
    body = _get(client, "/api/v1/procedure-fields", level="city").json()
    assert {"code": "doanh-nghiep", "name": "Thành lập và hoạt động doanh nghiệp"} in body
    assert {"code": "ho-tich", "name": "Hộ tịch"} not in body
    assert _get(client, "/api/v1/procedure-fields", level="province").status_code == 422


def test_detail_query_count_does_not_grow_with_cases(client, catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert _get(client, "/api/v1/procedures/1.012759").status_code == 200
