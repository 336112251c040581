"""The public list of wards and communes at /units/."""

from __future__ import annotations

import pytest

from hanoismart.directory.services import directory_seed


@pytest.fixture
def seeded(db):
    directory_seed(province_code="01")


def test_the_page_lists_wards_and_communes_fifty_at_a_time(seeded, client):
    response = client.get("/units/")

    assert response.status_code == 200
    page = response.context["page"]
    assert page.paginator.count == 126
    assert len(page.object_list) == 50
    assert "Thành phố Hà Nội" not in [unit.name for unit in page.object_list]
    assert 'name="viewport"' in response.text


def test_search_without_diacritics(seeded, client):
    response = client.get("/units/", {"q": "dong da"})

    assert [unit.name for unit in response.context["page"].object_list] == ["Phường Đống Đa"]
    assert "Phường Đống Đa" in response.text


@pytest.mark.parametrize("params", [{"type": "city"}, {"page": "abc"}, {"page": "99999"}, {"q": "a\x1fb"}])
def test_odd_parameters_still_give_a_page(seeded, client, params):
    response = client.get("/units/", params)

    assert response.status_code == 200


def test_type_filter_on_the_page(seeded, client):
    response = client.get("/units/", {"type": "commune", "q": "kim anh"})

    assert [unit.name for unit in response.context["page"].object_list] == ["Xã Kim Anh"]
