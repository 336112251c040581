"""Writes to the procedure catalog. The catalog is reference data loaded from a data file (seeds) or a
spreadsheet (import): ``catalog_load`` validates every entry first and writes all of them or none."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput
from hanoismart.directory.models import Agency, AgencyKind
from hanoismart.identity.models import StaffRole
from hanoismart.procedures.forms_schema import form_errors, schema_problems
from hanoismart.procedures.models import (
    Case,
    Component,
    DossierStatus,
    Fee,
    FeeKind,
    FeeSetter,
    Field,
    Level,
    OnlineLevel,
    Procedure,
    Subject,
    TimeUnit,
    WorkflowStep,
    national_code_validator,
)


@dataclass
class LoadSummary:
    """What a catalog load did."""

    fields: int = 0
    procedures_created: int = 0
    procedures_updated: int = 0
    cases: int = 0


def form_data_validate(*, case: Case, data: Any) -> None:
    """Refuse ``data`` that does not satisfy the case's application form, naming each field's problem."""
    errors = form_errors(case.form_schema, data)
    if errors:
        raise InvalidInput(_("The application form has errors."), code="form_invalid", details=errors)


def _choice(value: Any, choices: type, where: str, problems: list[str]) -> None:
    if value not in choices.values:  # type: ignore[attr-defined]
        allowed = ", ".join(choices.values)  # type: ignore[attr-defined]
        problems.append(_("%(where)s: %(value)r is not one of %(allowed)s.") % locals())


def _number(value: Any, where: str, problems: list[str]) -> None:
    try:
        if Decimal(str(value)) < 0:
            raise InvalidOperation
    except InvalidOperation:
        problems.append(_("%(where)s: %(value)r is not a non-negative number.") % locals())


def catalog_problems(entries: list[dict[str, Any]]) -> list[str]:
    """Every problem of ``entries`` (the data file's ``procedures``), each naming where it is."""
    problems: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        code = str(entry.get("national_code", ""))
        where = f"procedure {index} ({code or '?'})"
        try:
            national_code_validator(code)
        except ValidationError as exc:
            problems.append(f"{where}: {exc.messages[0]}")
        if code in seen:
            problems.append(_("%(where)s: the national code appears twice.") % {"where": where})
        seen.add(code)
        if not entry.get("name"):
            problems.append(_("%(where)s: name is missing.") % {"where": where})
        if not entry.get("field_code"):
            problems.append(_("%(where)s: field_code is missing.") % {"where": where})
        _choice(entry.get("level"), Level, f"{where} level", problems)
        _choice(entry.get("online_level"), OnlineLevel, f"{where} online_level", problems)
        _choice(entry.get("agency_kind"), AgencyKind, f"{where} agency_kind", problems)
        for subject in entry.get("subjects", []):
            _choice(subject, Subject, f"{where} subjects", problems)
        if not entry.get("cases"):
            problems.append(_("%(where)s: at least one case is needed.") % {"where": where})
        for c_index, case in enumerate(entry.get("cases", []), start=1):
            c_where = f"{where} case {c_index}"
            _number(case.get("processing_time"), f"{c_where} processing_time", problems)
            _choice(case.get("time_unit"), TimeUnit, f"{c_where} time_unit", problems)
            problems += [f"{c_where} form: {p}" for p in schema_problems(case.get("form_schema") or {})]
            for fee in case.get("fees", []):
                _choice(fee.get("kind"), FeeKind, f"{c_where} fee kind", problems)
                _choice(fee.get("set_by"), FeeSetter, f"{c_where} fee set_by", problems)
                _number(fee.get("amount"), f"{c_where} fee amount", problems)
            for step in case.get("steps", []):
                _choice(step.get("role"), StaffRole, f"{c_where} step role", problems)
                _choice(step.get("status"), DossierStatus, f"{c_where} step status", problems)
                _number(step.get("working_hours"), f"{c_where} step working_hours", problems)
    return problems


@transaction.atomic
def catalog_load(*, fields: list[dict[str, str]], entries: list[dict[str, Any]]) -> LoadSummary:
    """Create or update the fields and procedures described, replacing each procedure's cases (and their fees,
    components and steps) with the ones given. Validates everything first: on any problem nothing is written
    and ``InvalidInput`` lists every problem. Idempotent."""
    problems = catalog_problems(entries)
    known_fields = {f["code"] for f in fields} | set(Field.objects.values_list("code", flat=True))
    for entry in entries:
        if entry.get("field_code") and entry["field_code"] not in known_fields:
            problems.append(
                _("procedure %(code)s: unknown field %(field)s.")
                % {"code": entry.get("national_code"), "field": entry["field_code"]}
            )
    if problems:
        raise InvalidInput(
            _("The catalog has %(n)d problem(s).") % {"n": len(problems)},
            code="catalog_invalid",
            details={"catalog": problems},
        )
    summary = LoadSummary()
    for item in fields:
        field, _created = Field.objects.get_or_create(code=item["code"], defaults={"name": item["name"]})
        if field.name != item["name"]:
            field.name = item["name"]
            field.save()
        summary.fields += 1
    field_by_code = {f.code: f for f in Field.objects.all()}
    agencies = {a.code: a for a in Agency.objects.filter(code__in=[e.get("agency_code") for e in entries])}
    for entry in entries:
        values = {
            "is_code_provisional": bool(entry.get("is_code_provisional", False)),
            "local_code": entry.get("local_code", ""),
            "name": entry["name"],
            "summary": entry.get("summary", ""),
            "field": field_by_code[entry["field_code"]],
            "level": entry["level"],
            "agency_kind": entry["agency_kind"],
            "agency": agencies.get(entry.get("agency_code", "")),
            "where_to_file": entry.get("where_to_file", ""),
            "online_level": entry["online_level"],
            "legal_basis": entry.get("legal_basis", ""),
            "subjects": list(entry.get("subjects", [])),
            "yields_result": bool(entry.get("yields_result", True)),
            "result_type_code": entry.get("result_type_code", ""),
            "result_type_name": entry.get("result_type_name", ""),
            "may_file_outside_ward": bool(entry.get("may_file_outside_ward", False)),
            "popularity": int(entry.get("popularity", 0)),
            "is_active": bool(entry.get("is_active", True)),
        }
        procedure, created = Procedure.objects.get_or_create(
            national_code=entry["national_code"], defaults=values
        )
        changed = False
        if created:
            summary.procedures_created += 1
        else:
            changed = any(getattr(procedure, key) != value for key, value in values.items())
            if changed:
                for key, value in values.items():
                    setattr(procedure, key, value)
                procedure.save()
                summary.procedures_updated += 1
        if created or changed or _cases_differ(procedure, entry["cases"]):
            _cases_replace(procedure, entry["cases"])
        summary.cases += len(entry["cases"])
    return summary


def _case_snapshot(procedure: Procedure) -> list[tuple]:
    return [
        (
            c.code,
            c.name,
            Decimal(c.processing_time),
            c.time_unit,
            c.form_schema,
            [(f.kind, f.name, f.amount, f.set_by) for f in c.fees.all()],
            [(m.name, m.is_mandatory, m.document_type_code) for m in c.components.all()],
            [(s.name, s.role, s.status) for s in c.steps.all()],
        )
        for c in procedure.cases.prefetch_related("fees", "components", "steps")
    ]


def _entry_snapshot(cases: list[dict[str, Any]]) -> list[tuple]:
    return [
        (
            c["code"],
            c["name"],
            Decimal(str(c["processing_time"])),
            c["time_unit"],
            c.get("form_schema") or {},
            [(f["kind"], f["name"], int(f["amount"]), f["set_by"]) for f in c.get("fees", [])],
            [
                (m["name"], m.get("is_mandatory", True), m.get("document_type_code", ""))
                for m in c.get("components", [])
            ],
            [(s["name"], s["role"], s["status"]) for s in c.get("steps", [])],
        )
        for c in cases
    ]


def _cases_differ(procedure: Procedure, cases: list[dict[str, Any]]) -> bool:
    return _case_snapshot(procedure) != _entry_snapshot(cases)


def _cases_replace(procedure: Procedure, cases: list[dict[str, Any]]) -> None:
    procedure.cases.all().delete()
    for order, item in enumerate(cases, start=1):
        online_time = item.get("online_processing_time")
        case = Case.objects.create(
            procedure=procedure,
            code=item["code"],
            name=item["name"],
            order=order,
            processing_time=Decimal(str(item["processing_time"])),
            time_unit=item["time_unit"],
            online_processing_time=None if online_time is None else Decimal(str(online_time)),
            form_schema=item.get("form_schema") or {},
        )
        Fee.objects.bulk_create(
            Fee(
                case=case,
                kind=f["kind"],
                name=f["name"],
                amount=int(f["amount"]),
                set_by=f["set_by"],
                note=f.get("note", ""),
            )
            for f in item.get("fees", [])
        )
        Component.objects.bulk_create(
            Component(
                case=case,
                order=c_order,
                name=c["name"],
                is_mandatory=c.get("is_mandatory", True),
                originals=c.get("originals", 0),
                copies=c.get("copies", 0),
                accepted_file_types=c.get("accepted_file_types", ["pdf", "jpg", "png"]),
                document_type_code=c.get("document_type_code", ""),
            )
            for c_order, c in enumerate(item.get("components", []), start=1)
        )
        WorkflowStep.objects.bulk_create(
            WorkflowStep(
                case=case,
                order=s_order,
                name=s["name"],
                role=s["role"],
                working_hours=Decimal(str(s["working_hours"])),
                status=s["status"],
            )
            for s_order, s in enumerate(item.get("steps", []), start=1)
        )
