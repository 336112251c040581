"""Request and response bodies of the identity API (``/api/v1/me``, ``/organisations``, ``/staff/people``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Field, Schema

from hanoismart.identity.models import MembershipRole, OrganisationKind, StaffRole


class UnitRef(Schema):
    """An administrative unit, by official code."""

    code: str = Field(examples=["00070"])
    name: str = Field(examples=["Phường Hoàn Kiếm"])


class AgencyRef(Schema):
    code: str = Field(examples=["000.00.13.H26"])
    name: str = Field(examples=["Sở Tư pháp"])
    unit: UnitRef


class PositionOut(Schema):
    """A staff position held today."""

    role: StaffRole = Field(examples=["clerk"])
    role_label: str = Field(examples=["One-stop desk clerk"])
    title: str = Field(examples=["Công chức một cửa"])
    agency: AgencyRef
    valid_from: dt.date
    valid_to: dt.date | None = None


class OrganisationOut(Schema):
    """An organisation, with the caller's role in it when listed as theirs."""

    public_id: uuid.UUID
    tax_code: str = Field(examples=["0100109106"])
    name: str = Field(examples=["Công ty TNHH Hồ Gươm Xanh"])
    kind: OrganisationKind = Field(examples=["enterprise"])
    address: str = Field(examples=["12 phố Hàng Bạc, Phường Hoàn Kiếm"])
    ward: UnitRef | None = None
    role: MembershipRole | None = Field(None, examples=["legal_representative"])


class OrganisationIn(Schema):
    """Register an organisation; the caller becomes its legal representative."""

    tax_code: str = Field(max_length=20, examples=["0100109106"])
    name: str = Field(min_length=1, max_length=255, examples=["Công ty TNHH Hồ Gươm Xanh"])
    kind: OrganisationKind = Field(examples=["enterprise"])
    address: str = Field("", max_length=255, examples=["12 phố Hàng Bạc"])
    ward_code: str | None = Field(None, max_length=10, examples=["00070"])


class MeOut(Schema):
    """The caller's own account."""

    public_id: uuid.UUID
    national_id: str = Field(examples=["001099000001"])
    full_name: str = Field(examples=["Nguyễn Văn An"])
    date_of_birth: dt.date | None = Field(None, examples=["1999-03-14"])
    phone: str | None = Field(None, examples=["0912000001"])
    email: str | None = None
    ward: UnitRef | None = None
    assurance_level: int = Field(examples=[2])
    assurance_level_label: str = Field(examples=["Level 2: verified identity and face"])
    is_staff_member: bool = Field(examples=[False])
    positions: list[PositionOut]
    organisations: list[OrganisationOut]


class PersonSummaryOut(Schema):
    """A resident in a staff search result: the national ID is masked."""

    public_id: uuid.UUID
    full_name: str = Field(examples=["Nguyễn Văn An"])
    masked_national_id: str = Field(examples=["001******001"])
    birth_year: int | None = Field(None, examples=[1999])
    ward: UnitRef | None = None
    assurance_level: int = Field(examples=[2])

    @staticmethod
    def resolve_birth_year(person: Any) -> int | None:
        return person.date_of_birth.year if person.date_of_birth else None


class PersonOut(Schema):
    """A resident's record as a staff member sees it (opening it is audited)."""

    public_id: uuid.UUID
    national_id: str = Field(examples=["001099000001"])
    full_name: str = Field(examples=["Nguyễn Văn An"])
    date_of_birth: dt.date | None = None
    phone: str | None = None
    email: str | None = None
    ward: UnitRef | None = None
    assurance_level: int = Field(examples=[2])
    verified_at: dt.datetime | None = None
    is_active: bool
    organisations: list[OrganisationOut]


class ErrorOut(Schema):
    """Every error: a stable code, a message in the caller's language, and field errors if there are any."""

    code: str = Field(examples=["tax_code_checksum"])
    detail: str = Field(examples=["This tax code's check digit is wrong."])
    errors: dict[str, list[str]] | list | None = None
