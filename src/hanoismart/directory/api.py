"""The directory's public API: administrative units and agencies (read-only, no sign-in needed)."""

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from hanoismart.common.pagination import PageNumber
from hanoismart.directory import selectors
from hanoismart.directory.models import Agency, AgencyKind, Unit, UnitKind

router = Router(tags=["directory"])

_CODE_PATTERN = r"^[0-9]{1,10}$"
_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL refuses NUL in text)


class UnitRef(Schema):
    code: str = Field(..., examples=["01"])
    name: str = Field(..., examples=["Thành phố Hà Nội"])


class UnitOut(Schema):
    code: str = Field(..., description="Official code (General Statistics Office).", examples=["00070"])
    name: str = Field(..., examples=["Phường Hoàn Kiếm"])
    type: UnitKind = Field(..., examples=[UnitKind.WARD])
    parent_code: str | None = Field(None, examples=["01"])
    valid_from: dt.date = Field(..., examples=["2025-07-01"])
    valid_to: dt.date | None = Field(None, description="The day it ceased to exist (null while in force).")

    @staticmethod
    def resolve_type(unit: Unit) -> str:
        return unit.kind

    @staticmethod
    def resolve_parent_code(unit: Unit) -> str | None:
        return unit.parent.code if unit.parent_id else None


class UnitDetailOut(UnitOut):
    ancestors: list[UnitRef] = Field(..., description="The units above it, from the top down.")
    predecessors: list[UnitRef] = Field(..., description="The units it was formed from.")
    successors: list[UnitRef] = Field(..., description="The units formed from it.")

    @staticmethod
    def resolve_ancestors(unit: Unit) -> list[Unit]:
        return selectors.unit_ancestors(unit)


class UnitFilters(Schema):
    parent: str | None = Field(
        None, pattern=_CODE_PATTERN, description="Code of the parent unit.", examples=["01"]
    )
    type: UnitKind | None = Field(None, description="Kind of unit.", examples=[UnitKind.WARD])
    q: str | None = Field(
        None,
        max_length=100,
        pattern=_TEXT_PATTERN,
        description="Name search; ignores case and Vietnamese diacritics.",
        examples=["hoan kiem"],
    )
    on: dt.date | None = Field(
        None, description="Units in force on this date (default today).", examples=["2025-07-01"]
    )


class AgencyOut(Schema):
    code: str = Field(
        ..., description="Electronic identifier code (Decision 20/2020/QĐ-TTg).", examples=["000.00.13.H26"]
    )
    name: str = Field(..., examples=["Sở Tư pháp"])
    short_name: str = Field(..., examples=["STP"])
    kind: AgencyKind = Field(..., examples=[AgencyKind.DEPARTMENT])
    unit_code: str = Field(..., description="Code of the unit it serves.", examples=["01"])
    address: str
    phone: str
    email: str
    website: str

    @staticmethod
    def resolve_unit_code(agency: Agency) -> str:
        return agency.unit.code


class AgencyFilters(Schema):
    unit: str | None = Field(
        None, pattern=_CODE_PATTERN, description="Code of the unit served.", examples=["01"]
    )
    kind: AgencyKind | None = Field(None, examples=[AgencyKind.DEPARTMENT])
    q: str | None = Field(
        None,
        max_length=100,
        pattern=_TEXT_PATTERN,
        description="Name search; ignores case and Vietnamese diacritics.",
        examples=["tu phap"],
    )


@router.get("/units", response=list[UnitOut], summary="List administrative units")
@paginate(PageNumber)
def unit_list(request: HttpRequest, filters: Query[UnitFilters]) -> QuerySet[Unit]:
    """Units in force on a date (today by default), by official code."""
    return selectors.unit_list(
        parent_code=filters.parent, kind=filters.type, query=filters.q, on_date=filters.on
    )


@router.get("/units/{code}", response=UnitDetailOut, summary="One administrative unit")
def unit_detail(
    request: HttpRequest, code: str = Path(..., pattern=_CODE_PATTERN, examples=["00070"])
) -> Unit:
    """A unit by official code, ceased ones included, with its ancestors, predecessors and successors."""
    return selectors.unit_by_code(code)


@router.get("/agencies", response=list[AgencyOut], summary="List agencies")
@paginate(PageNumber)
def agency_list(request: HttpRequest, filters: Query[AgencyFilters]) -> QuerySet[Agency]:
    """Active agencies (departments, offices, People's Committees…) by electronic identifier code."""
    return selectors.agency_list(unit_code=filters.unit, kind=filters.kind, query=filters.q)
