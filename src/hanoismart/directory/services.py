"""Writes to the directory: seeding units and agencies, reorganising units, announcing calendar days.

Every function here is the only way to make its change; the admin, the ``seed`` command and other apps
call them. ``actor=None`` means the platform itself (seeding, commands the operator runs on the server); any
other actor needs the matching Django model permission.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from vietnam_provinces import Province, ProvinceCode, VietNamDivisionType, Ward

from hanoismart.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hanoismart.directory.models import (
    Agency,
    AgencyKind,
    CalendarDay,
    CalendarDayKind,
    Unit,
    UnitBoundary,
    UnitKind,
)
from hanoismart.directory.selectors import working_calendar_clear

DATA_DIR = Path(__file__).resolve().parent / "data"
TWO_LEVEL_GOVERNMENT_START = dt.date(2025, 7, 1)
"""The date the vietnam-provinces data describes: two-level local government since 1 July 2025."""

_UNIT_KIND_BY_DIVISION = {
    VietNamDivisionType.THANH_PHO_TRUNG_UONG: UnitKind.CITY,
    VietNamDivisionType.TINH: UnitKind.PROVINCE,
    VietNamDivisionType.PHUONG: UnitKind.WARD,
    VietNamDivisionType.XA: UnitKind.COMMUNE,
    VietNamDivisionType.DAC_KHU: UnitKind.SPECIAL_ZONE,
}
_LOCAL_KINDS = (UnitKind.WARD, UnitKind.COMMUNE, UnitKind.SPECIAL_ZONE)

# Ward/commune People's Committees: see committee_code().
_COMMITTEE_GROUP_FIRST = 90
_COMMITTEE_GROUP_SIZE = 99
_COMMITTEE_MAX_POSITION = _COMMITTEE_GROUP_SIZE * (100 - _COMMITTEE_GROUP_FIRST)


def _require_permission(actor: Any | None, *permissions: str) -> None:
    if actor is None:
        return
    if not getattr(actor, "is_active", False) or not actor.has_perms(permissions):
        raise PermissionDenied(_("You are not allowed to change the directory."))


# -- agency codes -----------------------------------------------------------------------------------------


def committee_code(*, position: int, level1_code: str) -> str:
    """The electronic identifier code HanoiSmart gives the People's Committee of a ward or commune.

    Decision 20/2020/QĐ-TTg codes read ``AAA.BB.CC.DDD``: DDD is the level-1 body (``H26`` is Hanoi's
    People's Committee), CC a level-2 body under it (``000.00.13.H26``: city body no. 13), BB and AAA levels 3
    and 4. Since 1 July 2025 wards and communes sit directly under the city; until the codes the city
    assigns them are loaded here, HanoiSmart keeps level-2 numbers 90-99 for them, as groups of 99
    committees, and puts the committee's position at level 3: position ``p`` (1-based, the ward's place in
    official-code order when the directory was seeded; later units take the next free position) gets
    ``000.{(p - 1) % 99 + 1:02d}.{90 + (p - 1) // 99:02d}.{level1_code}``. So the 1st ward is
    ``000.01.90.H26``, the 99th ``000.99.90.H26``, the 100th ``000.01.91.H26`` and Hanoi's 126th
    ``000.27.91.H26``. Level 3 is never ``00``, so a committee code never reads as a city department's.
    """
    if not 1 <= position <= _COMMITTEE_MAX_POSITION:
        raise ValueError(f"A committee position runs from 1 to {_COMMITTEE_MAX_POSITION}, not {position}.")
    group, place = divmod(position - 1, _COMMITTEE_GROUP_SIZE)
    return f"000.{place + 1:02d}.{_COMMITTEE_GROUP_FIRST + group:02d}.{level1_code}"


def committee_position(code: str) -> int | None:
    """The position a committee code encodes (see ``committee_code``), or None for any other code."""
    parts = code.split(".")
    if len(parts) != 4 or parts[0] != "000" or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    place, group = int(parts[1]), int(parts[2]) - _COMMITTEE_GROUP_FIRST
    if not (1 <= place <= _COMMITTEE_GROUP_SIZE and group >= 0):
        return None
    return group * _COMMITTEE_GROUP_SIZE + place


@cache
def agency_data(province_code: str) -> dict[str, Any] | None:
    """The province's agency list from ``directory/data/agencies_<code>.json``, or None if it has none."""
    path = DATA_DIR / f"agencies_{province_code}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


# -- seeding ----------------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    """What one ``directory_seed`` run changed (all zeros on a run that finds everything in place)."""

    units_created: int = 0
    units_updated: int = 0
    agencies_created: int = 0
    agencies_updated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the run wrote anything."""
        return any((self.units_created, self.units_updated, self.agencies_created, self.agencies_updated))


def _province(province_code: str) -> Province:
    code = (province_code or "").strip()
    try:
        return Province.from_code(ProvinceCode(int(code)))
    except ValueError as error:
        raise InvalidInput(_("Unknown province code: %(code)s.") % {"code": province_code}) from error


def _upsert(
    model: type, existing: dict[str, Any], key: str, values: dict[str, Any], result: SeedResult
) -> Any:
    """Create the row coded ``key``, or update those of ``values`` that differ; count what happened."""
    label = "units" if model is Unit else "agencies"
    row = existing.get(key)
    if row is None:
        row = model(code=key, **values)
        row.save()
        existing[key] = row
        setattr(result, f"{label}_created", getattr(result, f"{label}_created") + 1)
        return row
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, values[name])
        row.save()
        setattr(result, f"{label}_updated", getattr(result, f"{label}_updated") + 1)
    return row


def directory_seed(*, province_code: str = "01") -> SeedResult:
    """Load the province (or centrally-run city) and its wards/communes from the ``vietnam-provinces``
    package, then its agencies from ``directory/data/`` and one People's Committee per ward/commune.

    Idempotent: rows are matched by official code (committees by the unit they serve), only differing fields
    are written, and a second run changes nothing. Units a reorganisation has ceased keep their ``valid_to``.
    """
    province = _province(province_code)
    province_key = f"{province.code.value:02d}"
    wards = sorted(Ward.iter_by_province(province.code), key=lambda ward: ward.code.value)
    result = SeedResult()
    with transaction.atomic():
        unit_codes = [province_key, *(f"{ward.code.value:05d}" for ward in wards)]
        units = {unit.code: unit for unit in Unit.objects.filter(code__in=unit_codes)}
        city = _upsert(
            Unit,
            units,
            province_key,
            {
                "name": province.name,
                "kind": _UNIT_KIND_BY_DIVISION[province.division_type],
                "parent_id": None,
            },
            result,
        )
        for ward in wards:
            _upsert(
                Unit,
                units,
                f"{ward.code.value:05d}",
                {"name": ward.name, "kind": _UNIT_KIND_BY_DIVISION[ward.division_type], "parent_id": city.pk},
                result,
            )
        data = agency_data(province_key)
        if data is None:
            result.notes.append(f"No agency data for province {province_key}; units only.")
            return result
        _seed_agencies(
            data, city=city, local_units=[units[f"{ward.code.value:05d}"] for ward in wards], result=result
        )
    return result


def _seed_agencies(data: dict[str, Any], *, city: Unit, local_units: list[Unit], result: SeedResult) -> None:
    entries = data["agencies"]
    agencies = {
        agency.code: agency for agency in Agency.objects.filter(code__in=[e["code"] for e in entries])
    }
    city_committee: Agency | None = None
    for entry in entries:
        values = {
            "name": entry["name"],
            "short_name": entry.get("short_name", ""),
            "kind": AgencyKind(entry["kind"]),
            "unit_id": city.pk,
            "parent_id": None
            if entry["kind"] == AgencyKind.PEOPLES_COMMITTEE
            else _pk_or_none(city_committee),
            "address": entry.get("address", ""),
            "phone": entry.get("phone", ""),
            "website": entry.get("website", ""),
        }
        agency = _upsert(Agency, agencies, entry["code"], values, result)
        if entry["kind"] == AgencyKind.PEOPLES_COMMITTEE:
            city_committee = agency

    committees = {
        agency.unit_id: agency
        for agency in Agency.objects.filter(kind=AgencyKind.PEOPLES_COMMITTEE, unit__in=local_units)
    }
    taken = set(
        Agency.objects.filter(code__endswith=f".{data['level1_code']}").values_list("code", flat=True)
    )
    for position, unit in enumerate(local_units, start=1):
        values = {"name": f"UBND {unit.name}", "parent_id": _pk_or_none(city_committee)}
        committee = committees.get(unit.pk)
        if committee is None:
            code = committee_code(position=position, level1_code=data["level1_code"])
            if code in taken:
                code = _next_committee_code(taken, level1_code=data["level1_code"])
            taken.add(code)
            _upsert(
                Agency, {}, code, {**values, "kind": AgencyKind.PEOPLES_COMMITTEE, "unit_id": unit.pk}, result
            )
        else:
            _upsert(Agency, {committee.code: committee}, committee.code, values, result)


def _pk_or_none(agency: Agency | None) -> int | None:
    return agency.pk if agency is not None else None


def _next_committee_code(taken: Iterable[str], *, level1_code: str) -> str:
    positions = [position for code in taken if (position := committee_position(code)) is not None]
    return committee_code(position=max(positions, default=0) + 1, level1_code=level1_code)


# -- reorganisation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUnit:
    """A unit formed by a reorganisation: its official code, name, kind, parent and the units it came from."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    predecessor_codes: tuple[str, ...] = ()


def unit_reorganise(
    *, actor: Any | None, new_units: Sequence[NewUnit], ceased_codes: Sequence[str], on_date: dt.date
) -> list[Unit]:
    """Merge or split units on ``on_date``: the ceased units end (``valid_to = on_date``), the new ones begin
    (``valid_from = on_date``) with their predecessors recorded, so history survives.

    Refused, with nothing written, when a code is unknown or already used, a unit has already ceased or would
    cease before it began, or a ceased unit still has children that are not ceased with it. The People's
    Committees of ceased wards/communes are deactivated and each new ward/commune gets one
    (``committee_code``).
    """
    _require_permission(actor, "directory.add_unit", "directory.change_unit")
    if not new_units and not ceased_codes:
        raise InvalidInput(_("A reorganisation needs new units or ceased units."))
    new_codes = [new.code for new in new_units]
    if len(set(new_codes)) != len(new_codes) or len(set(ceased_codes)) != len(ceased_codes):
        raise InvalidInput(_("A unit code appears twice in the reorganisation."))
    with transaction.atomic():
        ceased = list(Unit.objects.select_for_update().filter(code__in=ceased_codes))
        _require_all_found(ceased_codes, ceased)
        for unit in ceased:
            if unit.valid_to is not None or unit.valid_from >= on_date:
                raise InvalidInput(
                    _("%(name)s cannot cease on %(date)s.")
                    % {"name": unit.name, "date": f"{on_date:%d/%m/%Y}"}
                )
        ceased_ids = {unit.pk for unit in ceased}
        orphan = (
            Unit.objects.filter(parent_id__in=ceased_ids, valid_to__isnull=True)
            .exclude(pk__in=ceased_ids)
            .first()
        )
        if orphan is not None:
            raise InvalidInput(_("%(name)s would be left without a parent.") % {"name": orphan.name})
        if Unit.objects.filter(code__in=new_codes).exists():
            raise Conflict(_("A unit with one of these codes already exists."))

        referenced = {new.parent_code for new in new_units if new.parent_code} | {
            code for new in new_units for code in new.predecessor_codes
        }
        known = {unit.code: unit for unit in Unit.objects.filter(code__in=referenced)}
        _require_all_found(referenced, known.values())
        for unit in ceased:
            unit.valid_to = on_date
            unit.save(update_fields=["valid_to"])
        Agency.objects.filter(unit_id__in=ceased_ids, kind=AgencyKind.PEOPLES_COMMITTEE).update(
            is_active=False
        )

        created = [
            _unit_create(new, known=known, ceased_ids=ceased_ids, on_date=on_date) for new in new_units
        ]
    return created


def _require_all_found(codes: Iterable[str], units: Iterable[Unit]) -> None:
    missing = sorted(set(codes) - {unit.code for unit in units})
    if missing:
        raise NotFound(_("No administrative unit with code %(code)s.") % {"code": ", ".join(missing)})


def _unit_create(new: NewUnit, *, known: dict[str, Unit], ceased_ids: set[int], on_date: dt.date) -> Unit:
    if new.kind not in UnitKind.values:
        raise InvalidInput(_("Unknown unit type: %(kind)s.") % {"kind": new.kind})
    name = " ".join(new.name.split())
    if not name or not new.code.isdigit() or len(new.code) > Unit._meta.get_field("code").max_length:
        raise InvalidInput(_("A new unit needs a numeric official code and a name."))
    parent = known.get(new.parent_code) if new.parent_code else None
    if parent is not None and (parent.pk in ceased_ids or not parent.is_valid_on(on_date)):
        raise InvalidInput(_("%(name)s is not in force on that date.") % {"name": parent.name})
    unit = Unit.objects.create(code=new.code, name=name, kind=new.kind, parent=parent, valid_from=on_date)
    unit.predecessors.set([known[code] for code in new.predecessor_codes])
    if new.kind in _LOCAL_KINDS and parent is not None:
        _committee_create(unit, city=parent)
    return unit


def _committee_create(unit: Unit, *, city: Unit) -> None:
    """Give a new ward/commune its People's Committee, if the province's agency data names a level-1 code."""
    root = city
    while root.parent_id is not None:
        root = root.parent  # type: ignore[assignment]
    data = agency_data(root.code)
    if data is None:
        return
    level1_code = data["level1_code"]
    taken = Agency.objects.filter(code__endswith=f".{level1_code}").values_list("code", flat=True)
    city_committee = Agency.objects.filter(unit=root, kind=AgencyKind.PEOPLES_COMMITTEE).first()
    Agency.objects.create(
        code=_next_committee_code(taken, level1_code=level1_code),
        name=f"UBND {unit.name}",
        kind=AgencyKind.PEOPLES_COMMITTEE,
        unit=unit,
        parent=city_committee,
    )


# -- the city's announced calendar ------------------------------------------------------------------------


def calendar_day_set(*, actor: Any | None, date: dt.date, kind: str, reason: str) -> CalendarDay:
    """Announce ``date`` as a day off or a make-up working day (replacing an earlier announcement of it).

    Deadlines computed from now on use it: the cached working calendar is cleared at once and again when the
    transaction commits.
    """
    _require_permission(actor, "directory.add_calendarday", "directory.change_calendarday")
    if kind not in CalendarDayKind.values:
        raise InvalidInput(_("Unknown kind of calendar day: %(kind)s.") % {"kind": kind})
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_("Say why the day changes (e.g. the decision that announced it)."))
    if len(reason) > CalendarDay._meta.get_field("reason").max_length:
        raise InvalidInput(_("The reason is too long."))
    with transaction.atomic():
        day, _created = CalendarDay.objects.update_or_create(
            date=date, defaults={"kind": kind, "reason": reason}
        )
        _calendar_changed()
    return day


def calendar_day_remove(*, actor: Any | None, date: dt.date) -> bool:
    """Withdraw the announcement for ``date``; True if there was one."""
    _require_permission(actor, "directory.delete_calendarday")
    with transaction.atomic():
        deleted, _detail = CalendarDay.objects.filter(date=date).delete()
        _calendar_changed()
    return bool(deleted)


def _calendar_changed() -> None:
    # Clear now, so this thread sees its own change, and after commit, in case another thread cached the old
    # rows while the transaction was open.
    working_calendar_clear()
    transaction.on_commit(working_calendar_clear)


# -- unit boundaries --------------------------------------------------------------------------------------

#: The feature properties that may carry a unit's official code, in the order they are looked at.
BOUNDARY_CODE_PROPERTIES = ("code", "ma", "ma_xa", "unit_code")
_GEOMETRY_TYPES = ("Polygon", "MultiPolygon")


@dataclass
class BoundaryProblem:
    """Why one feature of a GeoJSON file cannot be imported: its place in the file (from 1) and code."""

    feature: int
    code: str
    message: str


@dataclass
class BoundaryImportResult:
    """What ``boundaries_import`` saved: units outlined for the first time, those whose outline changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.created) + len(self.updated)


def _boundary_code(properties: Any) -> str:
    if not isinstance(properties, dict):
        return ""
    for key in BOUNDARY_CODE_PROPERTIES:
        value = properties.get(key)
        if isinstance(value, bool) or value is None:
            continue
        text = str(value).strip()
        if text:
            return text
    return ""


def _position_problem(position: Any) -> str:
    if not isinstance(position, list) or len(position) not in (2, 3):
        return _("a position must be [longitude, latitude]")
    if not all(isinstance(number, int | float) and not isinstance(number, bool) for number in position):
        return _("a position must hold numbers")
    longitude, latitude = position[0], position[1]
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        return _("a position is outside longitude −180…180 / latitude −90…90")
    return ""


def _polygon_problem(rings: Any) -> str:
    """What is wrong with a Polygon's coordinates (RFC 7946 §3.1.6), or "" when nothing is."""
    if not isinstance(rings, list) or not rings:
        return _("a polygon needs at least one ring")
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4:
            return _("a ring needs at least four positions")
        for position in ring:
            if problem := _position_problem(position):
                return problem
        if ring[0][:2] != ring[-1][:2]:
            return _("a ring must end where it starts")
    return ""


def boundary_geometry_problem(geometry: Any) -> str:
    """What is wrong with a GeoJSON geometry as a unit's outline (a Polygon or MultiPolygon with valid,
    closed rings), or "" when it is fine."""
    if not isinstance(geometry, dict):
        return _("the feature has no geometry")
    kind = geometry.get("type")
    if kind not in _GEOMETRY_TYPES:
        return _("the geometry is a %(kind)s; only Polygon and MultiPolygon are accepted") % {
            "kind": kind or "?"
        }
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        return _polygon_problem(coordinates)
    if not isinstance(coordinates, list) or not coordinates:
        return _("a multipolygon needs at least one polygon")
    for polygon in coordinates:
        if problem := _polygon_problem(polygon):
            return problem
    return ""


def _unit_for_code(code: str, units: dict[str, Unit]) -> Unit | None:
    """The unit of an official code as files write it: exact, or a number that lost its leading zeros
    (70 for ward 00070, 1 for city 01)."""
    if code in units:
        return units[code]
    if code.isdigit():
        for width in (5, 2):
            padded = code.zfill(width)
            if padded in units:
                return units[padded]
    return None


def boundaries_import(*, actor: Any | None, geojson: Any, source: str = "") -> BoundaryImportResult:
    """Load units' outlines from a GeoJSON FeatureCollection whose features carry the unit's official code
    (property ``code``, ``ma``, ``ma_xa`` or ``unit_code``) and a Polygon or MultiPolygon geometry.

    All or nothing: an unknown code, a code given twice or a bad geometry is reported per feature
    (``InvalidInput`` whose ``details`` map "feature N" to the problem) and nothing is saved. A unit already
    outlined gets the new outline; units the file does not name keep theirs. (Directory sits beside audit
    in the layers, so the caller records the audit event: ``hanoismart import boundaries`` does.)"""
    _require_permission(actor, "directory.add_unitboundary", "directory.change_unitboundary")
    features = geojson.get("features") if isinstance(geojson, dict) else None
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        features = [geojson]
    if not isinstance(features, list) or not features:
        raise InvalidInput(_("The file is not a GeoJSON FeatureCollection with features."))
    source = " ".join(str(source or "").split())[: UnitBoundary._meta.get_field("source").max_length]
    units = {unit.code: unit for unit in Unit.objects.all()}
    problems: list[BoundaryProblem] = []
    found: dict[int, tuple[Unit, dict[str, Any]]] = {}
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        code = _boundary_code(properties)
        if not code:
            names = ", ".join(BOUNDARY_CODE_PROPERTIES)
            problems.append(
                BoundaryProblem(number, "", _("no unit code (property %(names)s)") % {"names": names})
            )
            continue
        unit = _unit_for_code(code, units)
        if unit is None:
            problems.append(BoundaryProblem(number, code, _("no administrative unit has this code")))
            continue
        if unit.pk in found:
            problems.append(BoundaryProblem(number, code, _("this unit appears twice in the file")))
            continue
        geometry = feature.get("geometry")
        if problem := boundary_geometry_problem(geometry):
            problems.append(BoundaryProblem(number, code, problem))
            continue
        found[unit.pk] = (unit, {"type": geometry["type"], "coordinates": geometry["coordinates"]})
    if problems:
        raise InvalidInput(
            _("%(count)d of %(total)d features cannot be imported; nothing was saved.")
            % {"count": len(problems), "total": len(features)},
            code="bad_boundaries",
            details={
                (
                    _("feature %(n)d (%(code)s)") % {"n": p.feature, "code": p.code}
                    if p.code
                    else _("feature %(n)d") % {"n": p.feature}
                ): [p.message]
                for p in problems
            },
        )
    result = BoundaryImportResult()
    with transaction.atomic():
        existing = set(UnitBoundary.objects.filter(unit_id__in=found).values_list("unit_id", flat=True))
        for unit_id, (unit, geometry) in found.items():
            UnitBoundary.objects.update_or_create(
                unit_id=unit_id, defaults={"geometry": geometry, "source": source}
            )
            (result.updated if unit_id in existing else result.created).append(unit.code)
    return result
