"""Units' outlines: the all-or-nothing GeoJSON import, its command (`hanoismart import boundaries`) and the
selector the IOC's map reads."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import UnitBoundary
from hanoismart.directory.selectors import unit_boundaries
from hanoismart.directory.services import boundaries_import, boundary_geometry_problem
from tests.directory.factories import hanoi, ward
from tests.identity.factories import UserFactory

PROJECT_DIR = Path(__file__).resolve().parents[2]
SQUARE = [[[105.85, 21.02], [105.86, 21.02], [105.86, 21.03], [105.85, 21.03], [105.85, 21.02]]]


def feature(properties: dict, geometry: dict | None = None) -> dict:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": geometry if geometry is not None else {"type": "Polygon", "coordinates": SQUARE},
    }


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture
def wards(db):
    return {"city": hanoi(), "hk": ward("00070", "Phường Hoàn Kiếm"), "bd": ward("00004", "Phường Ba Đình")}


def test_a_good_file_outlines_each_unit_it_names(wards):
    # given a file keyed by three of the accepted code properties, one a number that lost its zeros
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE, SQUARE]}
    geojson = collection(
        feature({"code": "00070", "ten": "Hoàn Kiếm"}),
        feature({"ma_xa": 4}, multi),
        feature({"unit_code": "01"}),
    )

    # when it is imported
    result = boundaries_import(actor=None, geojson=geojson, source="Sở Nông nghiệp và Môi trường")

    # then each unit has its outline, as given, with the source
    assert (sorted(result.created), result.updated, result.count) == (["00004", "00070", "01"], [], 3)
    hk = UnitBoundary.objects.get(unit=wards["hk"])
    assert hk.geometry == {"type": "Polygon", "coordinates": SQUARE}
    assert hk.source == "Sở Nông nghiệp và Môi trường"
    assert UnitBoundary.objects.get(unit=wards["bd"]).geometry == multi

    # and importing again replaces, without duplicates
    again = boundaries_import(actor=None, geojson=collection(feature({"ma": "00070"})))
    assert (again.created, again.updated) == ([], ["00070"])
    assert UnitBoundary.objects.count() == 3


@pytest.mark.parametrize(
    ("geometry", "problem"),
    [
        ({"type": "Point", "coordinates": [105.8, 21.0]}, "the geometry is a Point"),
        ({"type": "Polygon", "coordinates": []}, "a polygon needs at least one ring"),
        ({"type": "Polygon", "coordinates": [SQUARE[0][:3]]}, "a ring needs at least four positions"),
        ({"type": "Polygon", "coordinates": [[*SQUARE[0][:4], [105.0, 21.0]]]}, "a ring must end where it"),
        ({"type": "Polygon", "coordinates": [[[105.85, 95.0], *SQUARE[0][1:]]]}, "a position is outside"),
        ({"type": "Polygon", "coordinates": [[["a", "b"], *SQUARE[0][1:]]]}, "a position must hold numbers"),
        ({"type": "MultiPolygon", "coordinates": [SQUARE, []]}, "a polygon needs at least one ring"),
    ],
)
def test_bad_geometries_are_named(geometry, problem):
    with translation.override("en"):
        assert boundary_geometry_problem(geometry).startswith(problem)


def test_one_bad_feature_saves_nothing_and_every_problem_is_listed(wards):
    # given an outline already loaded, and a file with a good feature, an unknown code, a bad geometry,
    # a unit named twice and a feature without a code
    boundaries_import(actor=None, geojson=collection(feature({"code": "00004"})), source="old")
    geojson = collection(
        feature({"code": "00070"}),
        feature({"code": "99999"}),
        feature({"code": "00004"}, {"type": "LineString", "coordinates": [[105.8, 21.0], [105.9, 21.1]]}),
        feature({"code": "00070"}),
        feature({"name": "no code"}),
    )

    # when it is imported
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        boundaries_import(actor=None, geojson=geojson, source="new")

    # then each problem is reported against its feature
    assert str(refused.value.message) == "4 of 5 features cannot be imported; nothing was saved."
    assert refused.value.details == {
        "feature 2 (99999)": ["no administrative unit has this code"],
        "feature 3 (00004)": ["the geometry is a LineString; only Polygon and MultiPolygon are accepted"],
        "feature 4 (00070)": ["this unit appears twice in the file"],
        "feature 5": ["no unit code (property code, ma, ma_xa, unit_code)"],
    }
    # and nothing changed: not even the good feature
    assert list(UnitBoundary.objects.values_list("unit__code", "source")) == [("00004", "old")]


@pytest.mark.parametrize(
    "geojson", [[], {"type": "FeatureCollection"}, {"type": "FeatureCollection", "features": []}]
)
def test_a_file_without_features_is_refused(wards, geojson):
    with pytest.raises(InvalidInput):
        boundaries_import(actor=None, geojson=geojson)
    assert not UnitBoundary.objects.exists()


def test_a_single_feature_is_accepted(wards):
    assert boundaries_import(actor=None, geojson=feature({"code": "00070"})).created == ["00070"]


def test_a_person_needs_the_directory_permission(wards):
    with pytest.raises(PermissionDenied):
        boundaries_import(actor=UserFactory(), geojson=collection(feature({"code": "00070"})))
    assert not UnitBoundary.objects.exists()


def test_the_selector_reads_the_outlines_of_the_units_asked_for(wards):
    boundaries_import(actor=None, geojson=collection(feature({"code": "00070"}), feature({"code": "00004"})))

    assert [b.unit.code for b in unit_boundaries()] == ["00004", "00070"]
    assert [b.unit.code for b in unit_boundaries(unit_ids={wards["hk"].pk, wards["city"].pk})] == ["00070"]
    assert list(unit_boundaries(unit_ids=set())) == []


# -- the command ------------------------------------------------------------------------------------------


def test_the_command_imports_and_audits(wards, tmp_path):
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(collection(feature({"code": "00070"}))), encoding="utf-8")
    out = io.StringIO()

    with translation.override("en"):
        call_command("import_data", "boundaries", str(path), "--source", "Sở TN&MT", stdout=out)

    assert f"Imported 1 outlines (1 new, 0 replaced) from {path}." in out.getvalue()
    assert UnitBoundary.objects.get().source == "Sở TN&MT"
    event = AuditEvent.objects.get(action="directory.boundaries_import")
    assert event.details == {
        "file": "wards.geojson",
        "source": "Sở TN&MT",
        "created": ["00070"],
        "updated": [],
    }


def test_the_command_lists_the_problems_and_fails(wards, tmp_path):
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(collection(feature({"code": "00070"}), feature({"code": "12345"}))))
    err = io.StringIO()

    with translation.override("en"), pytest.raises(CommandError) as failed:
        call_command("import_data", "boundaries", str(path), stderr=err)

    assert str(failed.value) == f"{path}: 1 of 2 features cannot be imported; nothing was saved."
    assert "feature 2 (12345): no administrative unit has this code" in err.getvalue()
    assert not UnitBoundary.objects.exists()
    assert not AuditEvent.objects.filter(action="directory.boundaries_import").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("{not json", r"is not JSON \(line 1, column 2")],
)
def test_the_command_refuses_a_missing_or_broken_file(wards, tmp_path, content, message):
    path = tmp_path / "wards.geojson"
    if content is not None:
        path.write_text(content)
    with translation.override("en"), pytest.raises(CommandError, match=message):
        call_command("import_data", "boundaries", str(path))


def test_the_console_script_exits_1_on_errors(tmp_path):
    """Through `hanoismart import` as an operator runs it (a fresh process: the settings' own database)."""
    path = tmp_path / "bad.geojson"
    path.write_text("[]")
    env_python = Path(sys.executable)
    completed = subprocess.run(  # noqa: S603 - our own console script with fixed arguments
        [str(env_python.parent / "hanoismart"), "import", "boundaries", str(path)],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env={"HANOISMART_VAR_DIR": str(tmp_path / "var"), "PATH": str(env_python.parent)},
        check=False,
    )
    assert completed.returncode == 1
    assert "bad.geojson" in completed.stderr
