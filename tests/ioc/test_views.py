"""The IOC's pages: who may open them, that the numbers shown are the selectors' numbers, the live updates
(204 while nothing changed), the Excel exports, the records behind a figure (no applicant data), the
public-services view, the map and the site menu.

The clock starts at the fixtures' NOW (20 March 2026, 10:00 in Hanoi) and runs on from there, so the pages
(which read ``timezone.now()``) see the small city of tests/ioc/conftest.py as the selectors' tests do."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from hanoismart.directory.services import boundaries_import
from hanoismart.dossiers.models import Dossier
from hanoismart.dossiers.services.rollups import rollups_rebuild
from hanoismart.identity.models import StaffPosition
from hanoismart.ioc import selectors
from tests.dossiers.factories import DossierFactory
from tests.ioc.conftest import NOW, at

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SQUARE = [[[105.85, 21.02], [105.86, 21.02], [105.86, 21.03], [105.85, 21.03], [105.85, 21.02]]]

PAGES = [
    ("ioc:overview", {}, ""),
    ("ioc:kpi", {"kpi": "on_time_rate"}, ""),
    ("ioc:records", {}, "?kpi=received"),
    ("ioc:services", {}, ""),
    ("ioc:reporting", {}, ""),
    ("ioc:alerts", {}, ""),
    ("ioc:alert_settings", {}, ""),
    ("ioc:map", {}, ""),
    ("ioc:map_data", {}, "?kpi=received"),
]


class Clock:
    """Time that starts at NOW and runs; ``advance`` jumps ahead (as a page left open would)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.skipped = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return NOW + self.skipped + dt.timedelta(seconds=time.monotonic() - self.started)

    def advance(self, seconds: float) -> None:
        self.skipped += dt.timedelta(seconds=seconds)


class StillClock:
    """Time that stands still until a test moves it on: the alert detection (run when its last run is two
    seconds old) then runs only when the test says so, whatever the machine's load, and the query counts
    that follow are the pages' own."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += dt.timedelta(seconds=seconds)


def stop_clock(monkeypatch) -> StillClock:
    """Stop ``timezone.now()`` where it is."""
    found = StillClock(timezone.now())
    monkeypatch.setattr(timezone, "now", found.now)
    return found


def install_clock(monkeypatch) -> Clock:
    """Make ``timezone.now()`` read a ``Clock``: positions, sessions and alerts made in the test are dated
    from NOW, as the fixtures' figures are (the other test_views modules use it too)."""
    found = Clock()
    monkeypatch.setattr(timezone, "now", found.now)
    return found


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    return install_clock(monkeypatch)


def url(name: str, kwargs: dict | None = None, query: str = "") -> str:
    return reverse(name, kwargs=kwargs or {}) + query


def data_value(html: str, element_id: str) -> str:
    """The ``data-value`` of the element with ``element_id``'s first value (a tile's or a total's)."""
    block = html[html.index(f'id="{element_id}"') :]
    return re.search(r'data-value="([^"]*)"', block).group(1)


def as_number(text: str) -> float | None:
    return None if text == "" else float(text)


# -- access -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kwargs", "query"), PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, city, name, kwargs, query):
    response = client.get(url(name, kwargs, query))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:sign_in"))


@pytest.mark.parametrize(("name", "kwargs", "query"), PAGES)
@pytest.mark.parametrize("persona", ["resident", "clerk_hoan_kiem"])
def test_people_without_the_dashboard_are_refused(sign_in, personas, city, persona, name, kwargs, query):
    response = sign_in(getattr(personas, persona)).get(url(name, kwargs, query), **EN)

    assert response.status_code == 403
    assert b"You are not allowed to see this page" in response.content


@pytest.mark.parametrize(("name", "kwargs", "query"), PAGES)
def test_a_city_manager_and_a_ward_leader_open_every_page(
    sign_in, personas, leaders, city, name, kwargs, query
):
    for user in (personas.city_manager, leaders.hoan_kiem):
        assert sign_in(user).get(url(name, kwargs, query), **EN).status_code == 200, user


@pytest.mark.parametrize(
    ("name", "kwargs", "query"), [page for page in PAGES if page[0] != "ioc:alert_settings"]
)
def test_a_ward_leader_is_refused_another_ward(sign_in, leaders, city, name, kwargs, query):
    separator = "&" if query else "?"
    response = sign_in(leaders.hoan_kiem).get(url(name, kwargs, f"{query}{separator}unit=00004"), **EN)

    assert response.status_code == 403


def test_bad_filters_get_a_clear_error(sign_in, personas, city):
    client = sign_in(personas.city_manager)

    bad_date = client.get(url("ioc:overview", query="?period=custom&from=2026-13-01&to=2026-03-02"), **EN)
    assert bad_date.status_code == 400
    assert b"Dates are written YYYY-MM-DD. Not a date: 2026-13-01" in bad_date.content
    backwards = client.get(url("ioc:overview", query="?from=2026-03-10&until=2026-03-01"), **EN)
    assert backwards.status_code == 400
    assert b"The period must end after it starts." in backwards.content
    assert client.get(url("ioc:overview", query="?unit=99999"), **EN).status_code == 404
    assert client.get(url("ioc:kpi", {"kpi": "nothing"}), **EN).status_code == 404
    assert client.get(url("ioc:records", query="?kpi=nothing"), **EN).status_code == 404


def test_the_menu_shows_the_ioc_to_those_who_may_see_it(sign_in, personas, leaders, city):
    assert b'id="nav-ioc"' in sign_in(personas.city_manager).get("/", **EN).content
    assert b'id="nav-ioc"' in sign_in(leaders.hoan_kiem).get("/", **EN).content
    assert b'id="nav-ioc"' not in sign_in(personas.resident).get("/", **EN).content
    assert b'id="nav-ioc"' not in sign_in(personas.clerk_hoan_kiem).get("/", **EN).content


# -- the overview -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["", "00070", "00004"])
def test_the_tiles_show_the_overview_selectors_numbers(sign_in, personas, city, unit):
    manager = personas.city_manager

    response = sign_in(manager).get(url("ioc:overview", query=f"?unit={unit}" if unit else ""), **EN)

    assert response.status_code == 200
    html = response.content.decode()
    expected = selectors.overview(actor=manager, unit=unit, now=timezone.now())
    assert [tile.kpi.code for tile in expected.tiles] == re.findall(r'id="tile-(\w+)"', html)
    for tile in expected.tiles:
        shown = as_number(data_value(html, f"tile-{tile.kpi.code}"))
        assert shown == (None if tile.value is None else pytest.approx(float(tile.value))), tile.kpi.code
    # each tile links to its breakdown with the same filters
    assert f'href="{expected.tiles[0].link.replace("&", "&amp;")}"' in html
    assert "Decision 766 index" in html


def test_the_city_figures_of_march(sign_in, personas, city):
    """A few numbers by hand, from the fixture's comments: received in March 1-20 in the city."""
    html = sign_in(personas.city_manager).get(url("ioc:overview"), **EN).content.decode()

    assert data_value(html, "tile-received") == "10"  # h1 h2 h4 h5 h6 b1 b2 b3 c1 c2
    assert data_value(html, "tile-overdue") == "3"  # h4 b2 c2
    assert data_value(html, "tile-due_soon") == "1"  # h5


def test_the_ward_leader_sees_their_ward_by_default(sign_in, leaders, city):
    html = sign_in(leaders.hoan_kiem).get(url("ioc:overview"), **EN).content.decode()

    assert "Phường Hoàn Kiếm" in html[html.index('id="ioc-scope"') :][:200]
    assert data_value(html, "tile-received") == "5"  # h1 h2 h4 h5 h6
    assert 'id="f-unit"' not in html  # nothing else to choose


def test_a_tile_link_with_this_months_dates_reads_as_this_month(sign_in, personas, city):
    response = sign_in(personas.city_manager).get(
        url("ioc:kpi", {"kpi": "received"}, "?from=2026-03-01&to=2026-03-21"), **EN
    )

    assert response.context["filters"].period == "month"
    assert "This month · 01/03/2026 – 20/03/2026" in response.content.decode()


def test_the_live_fragment_answers_204_until_a_figure_changes(sign_in, personas, city, clock):
    client = sign_in(personas.city_manager)
    page = client.get(url("ioc:overview"), **EN).content.decode()
    token = re.search(r'id="ioc-live"[^>]*data-token="([^"]+)"', page).group(1)
    live = url("ioc:overview_live", query=f"?token={token}")

    # nothing changed: no content, the page stays as it is
    assert client.get(live, **EN).status_code == 204

    # when a dossier passes its due time (h5 was due tonight)
    Dossier.objects.filter(pk=city.dossiers["h5"].pk).update(due_at=timezone.now() + dt.timedelta(seconds=1))
    clock.advance(3)  # the page's next poll
    changed = client.get(live, **EN)

    # then the fragment comes back with the new count and a new token, and the alert is in the strip
    assert changed.status_code == 200
    html = changed.content.decode()
    assert data_value(html, "tile-overdue") == "4"
    assert city.dossiers["h5"].code in html[html.index('id="alert-strip"') :]
    new_token = re.search(r'data-token="([^"]+)"', html).group(1)
    assert new_token != token
    assert client.get(url("ioc:overview_live", query=f"?token={new_token}"), **EN).status_code == 204


def test_the_live_fragment_needs_the_dashboard(client, sign_in, personas, city):
    assert client.get(url("ioc:overview_live")).status_code == 302
    assert sign_in(personas.resident).get(url("ioc:overview_live")).status_code == 403


# -- a KPI's breakdown --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kpi", "group_by", "unit"),
    [
        ("on_time_rate", "unit", ""),
        ("received", "agency", ""),
        ("received", "procedure", "00070"),
        ("online_rate", "day", ""),
        ("overdue", "unit", "00004"),
        ("reporting_completeness", "unit", ""),
    ],
)
def test_the_breakdown_shows_the_selectors_rows(sign_in, personas, city, kpi, group_by, unit):
    manager = personas.city_manager
    query = f"?group_by={group_by}" + (f"&unit={unit}" if unit else "")

    response = sign_in(manager).get(url("ioc:kpi", {"kpi": kpi}, query), **EN)

    assert response.status_code == 200
    html = response.content.decode()
    expected = selectors.kpi_breakdown(
        actor=manager, kpi=kpi, unit=unit, group_by=group_by, now=timezone.now()
    )
    assert as_number(data_value(html, "kpi-total")) == (
        None if expected.total is None else pytest.approx(float(expected.total))
    )
    table = html[html.index('id="breakdown"') :]
    shown = re.findall(r'<tr data-key="([^"]*)">.*?data-value="([^"]*)"', table, re.S)
    assert [(key, as_number(value)) for key, value in shown] == [
        (row.key, None if row.value is None else pytest.approx(float(row.value))) for row in expected.rows
    ]
    for row in expected.rows:  # every number links to what is behind it
        if row.link:
            assert row.link.replace("&", "&amp;") in table


def test_a_stock_kpi_offers_no_grouping_over_time(sign_in, personas, city):
    html = sign_in(personas.city_manager).get(url("ioc:kpi", {"kpi": "overdue"}, "?group_by=day"), **EN)

    assert html.context["group_by"] == "unit"
    assert 'id="tab-day"' not in html.content.decode()


def test_the_breakdown_exports_the_same_numbers_to_excel(sign_in, personas, city):
    manager = personas.city_manager

    response = sign_in(manager).get(url("ioc:kpi", {"kpi": "received"}, "?group_by=unit&format=xlsx"), **EN)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert (
        response["Content-Disposition"] == 'attachment; filename="ioc_received_unit_20260301_20260320.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header_at = next(i for i, row in enumerate(rows) if row[:3] == ["Code", "Name", "Dossiers received"])
    expected = selectors.kpi_breakdown(actor=manager, kpi="received", group_by="unit", now=timezone.now())
    body = rows[header_at + 1 :]
    assert [(row[0], row[2]) for row in body[:-1]] == [(r.key, r.value) for r in expected.rows]
    assert body[-1][1:3] == ["Total", expected.total] == ["Total", 10]
    figures = rows[header_at][3:]
    assert "Received" in figures
    column = 3 + figures.index("Received")
    assert [row[column] for row in body[:-1]] == [r.figures["received"] for r in expected.rows]


# -- the records behind a figure ----------------------------------------------------------------------------


def test_the_records_list_the_dossiers_without_their_applicants(sign_in, personas, city):
    response = sign_in(personas.city_manager).get(
        url("ioc:records", query="?kpi=received&unit=00070&from=2026-03-01&to=2026-03-21"), **EN
    )

    assert response.status_code == 200
    html = response.content.decode()
    received = ["h1", "h2", "h4", "h5", "h6"]
    assert re.findall(r'/desk/dossiers/([^/]+)/"', html) == [
        d.code
        for d in sorted((city.dossiers[k] for k in received), key=lambda d: d.received_at, reverse=True)
    ]
    assert "5 dossiers" in html
    resident = personas.resident
    for private in (
        resident.full_name,
        city.dossiers["h1"].applicant_name,
        resident.phone,
        resident.national_id,
    ):
        if private:
            assert private not in html


def test_the_records_of_a_stock_are_the_open_dossiers_now(sign_in, personas, city):
    html = sign_in(personas.city_manager).get(url("ioc:records", query="?kpi=overdue"), **EN).content.decode()

    codes = re.findall(r'/desk/dossiers/([^/]+)/"', html)
    assert codes == [city.dossiers[k].code for k in ("b2", "h4", "c2")]  # most overdue first
    assert html.count('class="badge text-bg-danger">overdue<') == 3


def test_the_records_of_a_reporting_kpi_point_to_the_reporting_view(sign_in, personas, city):
    html = sign_in(personas.city_manager).get(url("ioc:records", query="?kpi=reports_late"), **EN)

    assert html.status_code == 200
    assert b'id="records-reporting"' in html.content


def test_the_records_are_paginated(sign_in, personas, city, monkeypatch):
    monkeypatch.setattr("hanoismart.ioc.views.dashboard.RECORDS_PER_PAGE", 4)
    client = sign_in(personas.city_manager)

    first = client.get(url("ioc:records", query="?kpi=received"), **EN).content.decode()
    second = client.get(url("ioc:records", query="?kpi=received&page=3"), **EN).content.decode()

    assert len(re.findall(r'/desk/dossiers/[^/]+/"', first)) == 4
    assert "Page 1 of 3" in first
    assert "page=2" in first
    assert len(re.findall(r'/desk/dossiers/[^/]+/"', second)) == 2


# -- public services ----------------------------------------------------------------------------------------


def test_the_services_view_ranks_and_lists_late_dossiers_with_their_holder(sign_in, personas, city):
    manager = personas.city_manager
    Dossier.objects.filter(pk=city.dossiers["h4"].pk).update(assignee=personas.clerk_hoan_kiem)

    response = sign_in(manager).get(url("ioc:services"), **EN)

    assert response.status_code == 200
    html = response.content.decode()
    ranking = selectors.rankings(actor=manager, now=timezone.now())
    assert re.findall(r'<tr data-key="(\d+)">', html) == [row.key for row in ranking]
    late = html[html.index('id="late-dossiers"') :]
    assert re.findall(r'/desk/dossiers/([^/]+)/"', late) == [
        city.dossiers[k].code for k in ("b2", "h4", "c2", "h5")
    ]
    assert personas.clerk_hoan_kiem.full_name in late
    assert "3 dossiers are past their due time" in html
    procedures = html[html.index('id="late-procedures"') :]
    assert city.dossiers["h2"].procedure.national_code in procedures


def test_the_ranking_exports_to_excel(sign_in, personas, city):
    manager = personas.city_manager

    response = sign_in(manager).get(url("ioc:services", query="?level=agency&format=xlsx"), **EN)

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header_at = next(i for i, row in enumerate(rows) if row[:4] == ["Rank", "Code", "Name", "Score"])
    expected = selectors.rankings(actor=manager, level="agency", now=timezone.now())
    assert [(row[0], row[1], row[3]) for row in rows[header_at + 1 :]] == [
        (r.rank, r.key, r.score) for r in expected
    ]


# -- the map ----------------------------------------------------------------------------------------------


def test_without_outlines_the_map_says_how_to_load_them(sign_in, personas, city):
    html = sign_in(personas.city_manager).get(url("ioc:map"), **EN).content.decode()

    assert 'id="no-boundaries"' in html
    assert "hanoismart import boundaries FILE.geojson" in html
    assert 'id="map"' not in html


def test_the_map_colours_the_wards_by_the_kpi(sign_in, personas, leaders, city, settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    features = [
        {
            "type": "Feature",
            "properties": {"code": code},
            "geometry": {"type": "Polygon", "coordinates": SQUARE},
        }
        for code in ("00070", "00004")
    ]
    boundaries_import(actor=None, geojson={"type": "FeatureCollection", "features": features})
    manager = personas.city_manager
    client = sign_in(manager)

    page = client.get(url("ioc:map", query="?kpi=received"), **EN).content.decode()
    data = client.get(url("ioc:map_data", query="?kpi=received"), **EN).json()

    assert 'id="map"' in page
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in page
    expected = selectors.kpi_breakdown(actor=manager, kpi="received", group_by="unit", now=timezone.now())
    by_code = {row.key: row for row in expected.rows}
    assert (
        [(f["properties"]["code"], f["properties"]["value"]) for f in data["features"]]
        == [
            ("00004", by_code["00004"].value),
            ("00070", by_code["00070"].value),
        ]
        == [("00004", 3), ("00070", 5)]
    )
    assert data["features"][0]["properties"]["link"] == by_code["00004"].link
    assert (data["min"], data["max"], data["kpi"]["measure"]) == (3, 5, "count")
    # a ward's leader gets their ward only, with its own figure
    mine = sign_in(leaders.hoan_kiem).get(url("ioc:map_data", query="?kpi=received"), **EN).json()
    assert [(f["properties"]["code"], f["properties"]["value"]) for f in mine["features"]] == [("00070", 5)]


def test_the_roll_ups_feed_the_pages_not_the_dossier_table(sign_in, personas, city):
    """A dossier row changed behind the roll-ups' back does not move the flow figures until rebuilt: the
    pages read the roll-ups (a flow figure), as the issue asks."""
    Dossier.objects.filter(pk=city.dossiers["h7"].pk).update(received_at=at(3, 19), status="2")
    client = sign_in(personas.city_manager)

    assert data_value(client.get(url("ioc:overview"), **EN).content.decode(), "tile-received") == "10"
    rollups_rebuild()
    assert data_value(client.get(url("ioc:overview"), **EN).content.decode(), "tile-received") == "11"


# -- cost ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "/ioc/",
        "/ioc/live/",
        "/ioc/kpi/on_time_rate/?group_by=unit",
        "/ioc/records/?kpi=received",
        "/ioc/services/",
        "/ioc/alerts/",
    ],
)
def test_the_pages_cost_the_same_whatever_the_number_of_dossiers(
    sign_in, personas, city, address, monkeypatch
):
    """Queries are counted twice: with the fixture's city, then with twenty more dossiers (and their alerts):
    the count must not grow (figures come from the roll-ups; lists are paginated)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = sign_in(personas.city_manager)
    clock = stop_clock(monkeypatch)
    client.get(address, **EN)  # the first detection of alerts, sessions…

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(address, **EN).status_code == 200
        return len(captured)

    before = queries()
    for number in range(20):
        DossierFactory(
            agency=city.hk,
            case=city.dossiers["h1"].case,
            applicant=personas.resident,
            submitted_at=at(3, 10),
            received_at=at(3, 10),
            status="4",
            due_at=at(3, 19, 8, number),
        )
    rollups_rebuild()
    clock.advance(5)
    client.get(address, **EN)  # the detection raises the new dossiers' alerts
    assert queries() <= before
    assert before <= 45


@pytest.mark.parametrize(
    ("who", "address", "most"),
    [
        # the session, the user and their second factor (3); the scope: positions, the city and its wards
        # (2); the alert detection's clock (1); the live token, read first: the next due moments (2), the
        # alerts' count and the last roll-up change (2); the overview: one roll-up query by day for the
        # period and the one before, the open stocks and the dossiers due today or soon, the report forms,
        # their periods, reporters and submissions of two periods (2 + 2 + 4); the newest alerts (1); the
        # menu's roles (1)
        ("city_manager", "/ioc/", 21),
        ("city_manager", "/ioc/?unit=00070", 21),
        ("hoan_kiem_leader", "/ioc/", 21),
        # the live fragment when a figure changed: the same, no menu (-1)
        ("city_manager", "/ioc/live/?token=stale", 20),
    ],
)
def test_the_overview_and_its_live_fragment_read_a_bounded_number_of_queries(
    sign_in, personas, leaders, city, monkeypatch, django_assert_max_num_queries, who, address, most
):
    user = leaders.hoan_kiem if who == "hoan_kiem_leader" else getattr(personas, who)
    client = sign_in(user)
    stop_clock(monkeypatch)
    assert client.get(address, **EN).status_code == 200  # the session's first request reads more

    with django_assert_max_num_queries(most):
        assert client.get(address, **EN).status_code == 200


def test_an_unchanged_live_fragment_reads_ten_queries(
    sign_in, personas, city, monkeypatch, django_assert_max_num_queries
):
    client = sign_in(personas.city_manager)
    stop_clock(monkeypatch)
    page = client.get(url("ioc:overview"), **EN).content.decode()
    token = re.search(r'data-token="([^"]+)"', page).group(1)
    live = url("ioc:overview_live", query=f"?token={token}")

    # the session (3), the scope (2), the detection's clock (1), the token: the next due moments (2), alerts,
    # roll-ups; no open dossier counted
    with django_assert_max_num_queries(10):
        assert client.get(live, **EN).status_code == 204


def test_a_leader_removed_from_their_post_is_refused_at_the_next_request(sign_in, leaders, city):
    client = sign_in(leaders.hoan_kiem)
    for address in ("/ioc/", "/ioc/live/", "/api/v1/ioc/overview"):
        assert client.get(address, **EN).status_code == 200, address

    today = timezone.localdate()
    StaffPosition.objects.filter(user=leaders.hoan_kiem).update(
        valid_from=today - dt.timedelta(days=30), valid_to=today
    )

    for address in ("/ioc/", "/ioc/live/", "/ioc/records/?kpi=received", "/api/v1/ioc/overview"):
        assert client.get(address, **EN).status_code == 403, address


def test_the_city_level_row_leads_to_the_departments_dossiers(sign_in, personas, city):
    manager = personas.city_manager
    breakdown = selectors.kpi_breakdown(actor=manager, kpi="received", group_by="unit", now=timezone.now())
    city_row = next(row for row in breakdown.rows if row.key == "01")

    html = sign_in(manager).get(city_row.link, **EN).content.decode()

    assert re.findall(r'/desk/dossiers/([^/]+)/"', html) == [
        city.dossiers["c2"].code,
        city.dossiers["c1"].code,
    ]
    assert "City level (departments)" in html
    # while the drawer's city (no unit) means the whole city
    page = sign_in(manager).get(url("ioc:records", query="?kpi=received&unit=01"), **EN).content.decode()
    assert '<option value="" selected>Thành phố Hà Nội (whole city)</option>' in page
    everything = sign_in(manager).get(url("ioc:records", query="?kpi=received&unit="), **EN).content.decode()
    assert "10 dossiers" in everything
    assert "City level (departments)" not in everything
