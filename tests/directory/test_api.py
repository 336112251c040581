"""The directory API: /api/v1/units and /api/v1/agencies."""

from __future__ import annotations

import datetime as dt

import pytest
from vietnam_provinces import ProvinceCode, Ward

from hanoismart.directory.models import UnitKind
from hanoismart.directory.services import NewUnit, directory_seed, unit_reorganise


@pytest.fixture
def seeded(db):
    directory_seed(province_code="01")


def test_all_126_wards_and_communes_of_hanoi_on_one_page(seeded, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.get("/api/v1/units", {"parent": "01", "page_size": 200})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 126
    assert (body["page"], body["page_size"]) == (1, 200)
    expected = sorted(
        (f"{ward.code.value:05d}", ward.name) for ward in Ward.iter_by_province(ProvinceCode(1))
    )
    assert [(item["code"], item["name"]) for item in body["items"]] == expected
    assert body["items"][0] == {
        "code": "00004",
        "name": "Phường Ba Đình",
        "type": "ward",
        "parent_code": "01",
        "valid_from": "2025-07-01",
        "valid_to": None,
    }


def test_pages_of_fifty_by_default(seeded, client):
    first = client.get("/api/v1/units", {"parent": "01"}).json()
    third = client.get("/api/v1/units", {"parent": "01", "page": 3}).json()
    beyond = client.get("/api/v1/units", {"parent": "01", "page": 4}).json()

    assert (first["count"], len(first["items"]), first["page_size"]) == (126, 50, 50)
    assert len(third["items"]) == 26
    assert beyond == {"count": 126, "page": 4, "page_size": 50, "items": []}


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("hoan kiem", ["Phường Hoàn Kiếm"]),
        ("dong da", ["Phường Đống Đa"]),
        ("Phường ĐỐNG ĐA", ["Phường Đống Đa"]),
        ("khong co", []),
    ],
)
def test_name_search_ignores_diacritics_and_case(seeded, client, q, names):
    response = client.get("/api/v1/units", {"q": q})

    assert [item["name"] for item in response.json()["items"]] == names


def test_type_filter(seeded, client):
    communes = client.get("/api/v1/units", {"type": "commune", "page_size": 200}).json()
    wards = client.get("/api/v1/units", {"type": "ward", "page_size": 200}).json()
    city = client.get("/api/v1/units", {"type": "city"}).json()

    assert {item["type"] for item in communes["items"]} == {"commune"}
    assert communes["count"] + wards["count"] == 126
    assert communes["count"] == sum(
        1 for ward in Ward.iter_by_province(ProvinceCode(1)) if ward.division_type.value == "xã"
    )
    assert [item["code"] for item in city["items"]] == ["01"]


def test_on_shows_the_units_in_force_that_day(seeded, client):
    unit_reorganise(
        actor=None,
        new_units=[NewUnit("99001", "Phường Hồ Gươm", UnitKind.WARD, "01", ("00070", "00073"))],
        ceased_codes=["00070", "00073"],
        on_date=dt.date(2026, 1, 1),
    )

    before = client.get("/api/v1/units", {"q": "hoan kiem", "on": "2025-12-31"}).json()
    after = client.get("/api/v1/units", {"q": "ho guom", "on": "2026-01-01"}).json()
    gone = client.get("/api/v1/units", {"q": "hoan kiem", "on": "2026-01-01"}).json()
    too_early = client.get("/api/v1/units", {"on": "2025-06-30"}).json()

    assert [item["code"] for item in before["items"]] == ["00070"]
    assert [item["code"] for item in after["items"]] == ["99001"]
    assert gone["count"] == 0
    assert too_early["count"] == 0


def test_unit_detail_with_its_history(seeded, client, django_assert_max_num_queries):
    unit_reorganise(
        actor=None,
        new_units=[NewUnit("99001", "Phường Hồ Gươm", UnitKind.WARD, "01", ("00070", "00073"))],
        ceased_codes=["00070", "00073"],
        on_date=dt.date(2026, 1, 1),
    )

    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/units/99001")

    assert response.status_code == 200
    assert response.json() == {
        "code": "99001",
        "name": "Phường Hồ Gươm",
        "type": "ward",
        "parent_code": "01",
        "valid_from": "2026-01-01",
        "valid_to": None,
        "ancestors": [{"code": "01", "name": "Thành phố Hà Nội"}],
        "predecessors": [
            {"code": "00070", "name": "Phường Hoàn Kiếm"},
            {"code": "00073", "name": "Phường Cửa Nam"},
        ],
        "successors": [],
    }
    ceased = client.get("/api/v1/units/00070").json()
    assert (ceased["valid_to"], ceased["successors"]) == (
        "2026-01-01",
        [{"code": "99001", "name": "Phường Hồ Gươm"}],
    )


def test_unknown_unit_is_a_json_404(seeded, client):
    response = client.get("/api/v1/units/99999", headers={"accept-language": "en"})

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No administrative unit with code 99999."}


@pytest.mark.parametrize(
    "params",
    [
        {"type": "district"},
        {"page": 0},
        {"page": "x"},
        {"page": 10**30},
        {"page_size": 0},
        {"page_size": 201},
        {"on": "2025-02-30"},
        {"on": "yesterday"},
        {"parent": "01' OR 1=1"},
        {"q": "a" * 101},
        {"q": "hoan\x1fkiem"},
    ],
)
def test_bad_parameters_are_422_not_500(seeded, client, params):
    response = client.get("/api/v1/units", params)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"


def test_agencies_list_and_filters(seeded, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.get("/api/v1/agencies", {"unit": "01", "page_size": 200})
    city = response.json()
    justice = client.get("/api/v1/agencies", {"q": "tu phap"}).json()
    committee = client.get("/api/v1/agencies", {"unit": "00070"}).json()
    departments = client.get("/api/v1/agencies", {"kind": "department", "page_size": 200}).json()

    assert city["count"] == 21
    assert justice["items"] == [
        {
            "code": "000.00.13.H26",
            "name": "Sở Tư pháp",
            "short_name": "STP",
            "kind": "department",
            "unit_code": "01",
            "address": "221 Trần Phú, Hà Đông, Hà Nội",
            "phone": "",
            "email": "",
            "website": "",
        }
    ]
    assert [item["name"] for item in committee["items"]] == ["UBND Phường Hoàn Kiếm"]
    assert departments["count"] == 14
    assert client.get("/api/v1/agencies").json()["count"] == 147


def test_a_malformed_unit_code_is_422(seeded, client):
    assert client.get("/api/v1/units/ab-c").status_code == 422


@pytest.mark.parametrize("params", [{"kind": "ministry"}, {"unit": "abc"}, {"page_size": 500}])
def test_bad_agency_parameters_are_422(seeded, client, params):
    assert client.get("/api/v1/agencies", params).status_code == 422


def test_the_openapi_document_describes_the_directory(client):
    spec = client.get("/api/v1/openapi.json").json()

    units = spec["paths"]["/api/v1/units"]["get"]
    assert {parameter["name"] for parameter in units["parameters"]} == {
        "parent",
        "type",
        "q",
        "on",
        "page",
        "page_size",
    }
    assert "/api/v1/units/{code}" in spec["paths"]
    assert "/api/v1/agencies" in spec["paths"]
