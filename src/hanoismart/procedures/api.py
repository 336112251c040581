"""The procedure catalog's public API: search, one procedure in full (with its fee quotes), and the fields.

Read-only and open to everyone: the catalog is public information.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field as SchemaField
from ninja import Path, Query, Router, Schema
from ninja.pagination import paginate

from hanoismart.common.pagination import PageNumber
from hanoismart.procedures.models import (
    NATIONAL_CODE_PATTERN,
    Case,
    Level,
    Procedure,
    Subject,
)
from hanoismart.procedures.selectors import FeeQuote, fee_for, field_list, procedure_detail, procedure_search

router = Router(tags=["procedures"])


class FieldOut(Schema):
    code: str
    name: str


class ProcedureOut(Schema):
    code: str = SchemaField(..., description="National procedure code, e.g. 1.001193.")
    is_code_provisional: bool
    local_code: str
    name: str
    field: FieldOut
    level: str
    online_level: str
    subjects: list[str]
    popularity: int

    @staticmethod
    def resolve_code(procedure: Procedure) -> str:
        return procedure.national_code


class FeeLineOut(Schema):
    name: str
    kind: str
    set_by: str
    amount: int
    resident_pays: int
    city_pays: int
    note: str


class FeeQuoteOut(Schema):
    channel: str
    on_date: dt.date
    resident_pays: int
    city_pays: int
    postal_return_free: bool
    lines: list[FeeLineOut]


class ComponentOut(Schema):
    name: str
    is_mandatory: bool
    originals: int
    copies: int
    accepted_file_types: list[str]
    document_type_code: str


class StepOut(Schema):
    order: int
    name: str
    role: str
    working_hours: Decimal
    status: str


class CaseOut(Schema):
    code: str
    name: str
    processing_time: Decimal
    time_unit: str
    online_processing_time: Decimal | None
    fees: dict[str, FeeQuoteOut] = SchemaField(
        ..., description="Quotes for 'online' and 'counter' filing today."
    )
    components: list[ComponentOut]
    form_schema: dict[str, Any]
    steps: list[StepOut]

    @staticmethod
    def resolve_fees(case: Case) -> dict[str, FeeQuote]:
        today = timezone.localdate()
        return {
            channel: fee_for(case=case, channel=channel, on_date=today) for channel in ("online", "counter")
        }

    @staticmethod
    def resolve_components(case: Case) -> list:
        return list(case.components.all())

    @staticmethod
    def resolve_steps(case: Case) -> list:
        return list(case.steps.all())


class ProcedureDetailOut(ProcedureOut):
    summary: str
    agency_kind: str
    agency: str | None = SchemaField(None, description="Electronic code of the responsible agency, if one.")
    where_to_file: str
    legal_basis: str
    yields_result: bool
    result_type_code: str
    result_type_name: str
    may_file_outside_ward: bool
    cases: list[CaseOut]

    @staticmethod
    def resolve_agency(procedure: Procedure) -> str | None:
        return procedure.agency.code if procedure.agency else None

    @staticmethod
    def resolve_cases(procedure: Procedure) -> list:
        return list(procedure.cases.all())


class SearchFilters(Schema):
    q: str = SchemaField(
        "", max_length=200, description="Words of the name, field or code; diacritics optional."
    )
    field: str | None = SchemaField(None, max_length=40, description="A field code (see /procedure-fields).")
    level: Level | None = None
    subject: Subject | None = None


@router.get("/procedures", response=list[ProcedureOut], summary="Search the procedure catalog")
@paginate(PageNumber)
def procedures_search(request: HttpRequest, filters: Query[SearchFilters]):
    """Active procedures, best matches first (name, then field), then the most used."""
    return procedure_search(
        query=filters.q,
        field=filters.field,
        level=filters.level.value if filters.level else None,
        subject=filters.subject.value if filters.subject else None,
    )


@router.get("/procedures/{code}", response=ProcedureDetailOut, summary="One procedure in full")
def procedure_get(
    request: HttpRequest,
    code: str = Path(..., pattern=NATIONAL_CODE_PATTERN, examples=["1.001193"]),
):
    """A procedure by national code (e.g. 1.001193): cases with processing times, today's fees online and at
    the counter, papers, the application form (JSON Schema) and the workflow steps."""
    return procedure_detail(code=code)


@router.get("/procedure-fields", response=list[FieldOut], summary="Fields of administration")
def fields_list(request: HttpRequest, level: Level | None = None):
    """Every field (lĩnh vực) that has an active procedure (at ``level``, when given)."""
    return list(field_list(level=level.value if level else None))
