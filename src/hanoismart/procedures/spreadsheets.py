"""The catalog as spreadsheets, for operators who keep it in Excel: one table per kind of row (fields,
procedures, cases, fees, components, steps), as the sheets of one .xlsx workbook or as one CSV file per table
in a folder. Rows of the inner tables name their procedure (``national_code``) and case (``case_code``).

Import reads every table, names each problem by table, row and column, and loads all of it or none of it
(``services.catalog_load``)."""

from __future__ import annotations

import csv
import json
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from hanoismart.common.errors import InvalidInput
from hanoismart.procedures.models import Procedure
from hanoismart.procedures.services import LoadSummary, catalog_load

#: Each table and its columns, in order. List columns are comma-separated; ``form_schema`` is JSON.
TABLES: dict[str, list[str]] = {
    "fields": ["code", "name"],
    "procedures": [
        "national_code",
        "is_code_provisional",
        "local_code",
        "name",
        "summary",
        "field_code",
        "level",
        "agency_kind",
        "agency_code",
        "where_to_file",
        "online_level",
        "legal_basis",
        "subjects",
        "yields_result",
        "result_type_code",
        "result_type_name",
        "may_file_outside_ward",
        "popularity",
        "is_active",
    ],
    "cases": [
        "national_code",
        "case_code",
        "name",
        "processing_time",
        "time_unit",
        "online_processing_time",
        "form_schema",
    ],
    "fees": ["national_code", "case_code", "kind", "name", "amount", "set_by", "note"],
    "components": [
        "national_code",
        "case_code",
        "name",
        "is_mandatory",
        "originals",
        "copies",
        "accepted_file_types",
        "document_type_code",
    ],
    "steps": ["national_code", "case_code", "name", "role", "working_hours", "status"],
}
_BOOLEANS = {"is_code_provisional", "yields_result", "may_file_outside_ward", "is_active", "is_mandatory"}
_INTEGERS = {"popularity", "amount", "originals", "copies"}
_LISTS = {"subjects", "accepted_file_types"}
MAX_ROWS = 20_000


def catalog_tables() -> dict[str, list[dict[str, Any]]]:
    """The whole catalog (active or not) as the rows of ``TABLES``."""
    procedures = Procedure.objects.select_related("field", "agency").prefetch_related(
        "cases__fees", "cases__components", "cases__steps"
    )
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    fields_seen: dict[str, str] = {}
    for procedure in procedures.order_by("national_code"):
        fields_seen[procedure.field.code] = procedure.field.name
        row = {column: getattr(procedure, column, "") for column in TABLES["procedures"]}
        row.update(
            field_code=procedure.field.code, agency_code=procedure.agency.code if procedure.agency else ""
        )
        tables["procedures"].append(row)
        for case in procedure.cases.all():
            key = {"national_code": procedure.national_code, "case_code": case.code}
            tables["cases"].append(
                {
                    **key,
                    "name": case.name,
                    "processing_time": case.processing_time,
                    "time_unit": case.time_unit,
                    "online_processing_time": case.online_processing_time,
                    "form_schema": case.form_schema,
                }
            )
            for fee in case.fees.all():
                tables["fees"].append({**key, **{c: getattr(fee, c) for c in TABLES["fees"][2:]}})
            for component in case.components.all():
                tables["components"].append(
                    {**key, **{c: getattr(component, c) for c in TABLES["components"][2:]}}
                )
            for step in case.steps.all():
                tables["steps"].append({**key, **{c: getattr(step, c) for c in TABLES["steps"][2:]}})
    tables["fields"] = [{"code": code, "name": name} for code, name in sorted(fields_seen.items())]
    return {name: tables.get(name, []) for name in TABLES}


def _cell_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return "" if value is None else value


def export_xlsx(path: Path) -> None:
    """Write the catalog to ``path`` as a workbook, one sheet per table."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in catalog_tables().items():
        sheet = workbook.create_sheet(name)
        sheet.append(TABLES[name])
        for row in rows:
            sheet.append([_cell_text(row.get(column)) for column in TABLES[name]])
    workbook.save(path)


def export_csv(folder: Path) -> None:
    """Write the catalog into ``folder`` (made if missing) as ``<table>.csv`` files, UTF-8 with a BOM."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in catalog_tables().items():
        with (folder / f"{name}.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(TABLES[name])
            for row in rows:
                writer.writerow([_cell_text(row.get(column)) for column in TABLES[name]])


def _read_tables(path: Path) -> dict[str, list[list[Any]]]:
    if path.is_dir():
        tables = {}
        for name in TABLES:
            file = path / f"{name}.csv"
            if file.exists():
                with file.open(encoding="utf-8-sig", newline="") as handle:
                    tables[name] = list(csv.reader(handle))
        return tables
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InvalidInput(_("This file is not an Excel workbook (.xlsx) or a folder of CSV files.")) from exc
    return {
        name: [list(row) for row in workbook[name].iter_rows(values_only=True, max_row=MAX_ROWS + 1)]
        for name in TABLES
        if name in workbook.sheetnames
    }


def _parse(table: str, column: str, raw: Any, where: str, problems: list[str]) -> Any:
    text = "" if raw is None else str(raw).strip()
    if column in _BOOLEANS:
        if text.lower() not in {"true", "false", "1", "0", ""}:
            problems.append(_("%(where)s: %(value)r is not true or false.") % {"where": where, "value": text})
        return text.lower() in {"true", "1"}
    if column in _INTEGERS:
        try:
            return int(float(text or 0))
        except ValueError:
            problems.append(
                _("%(where)s: %(value)r is not a whole number.") % {"where": where, "value": text}
            )
            return 0
    if column in _LISTS:
        return [item.strip() for item in text.split(",") if item.strip()]
    if column == "form_schema":
        try:
            value = json.loads(text) if text else {}
        except json.JSONDecodeError:
            problems.append(_("%(where)s: the form schema is not valid JSON.") % {"where": where})
            return {}
        if not isinstance(value, dict):
            problems.append(_("%(where)s: the form schema must be a JSON object.") % {"where": where})
            return {}
        return value
    if column == "online_processing_time":
        return text or None
    return text


def catalog_import(path: Path) -> LoadSummary:
    """Load the catalog from a workbook or a folder of CSV files: all of it, or nothing and every problem."""
    raw_tables = _read_tables(path)
    problems: list[str] = []
    if "procedures" not in raw_tables:
        raise InvalidInput(_("The table “procedures” is missing."), code="catalog_invalid")
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, raw_rows in raw_tables.items():
        if not raw_rows:
            continue
        header = [str(cell or "").strip() for cell in raw_rows[0]]
        missing = [column for column in TABLES[name] if column not in header]
        if missing:
            problems.append(
                _("%(table)s: missing column(s) %(columns)s.")
                % {"table": name, "columns": ", ".join(missing)}
            )
            continue
        if len(raw_rows) > MAX_ROWS + 1:
            problems.append(_("%(table)s: more than %(n)d rows.") % {"table": name, "n": MAX_ROWS})
            continue
        rows = []
        for number, raw in enumerate(raw_rows[1:], start=2):
            if all(cell in (None, "") for cell in raw):
                continue
            values = dict(zip(header, raw, strict=False))
            rows.append(
                {
                    "_where": f"{name} row {number}",
                    **{
                        column: _parse(
                            name,
                            column,
                            values.get(column),
                            f"{name} row {number}, column {column}",
                            problems,
                        )
                        for column in TABLES[name]
                    },
                }
            )
        tables[name] = rows
    entries = _assemble(tables, problems)
    if problems:
        raise InvalidInput(
            _("The catalog has %(n)d problem(s).") % {"n": len(problems)},
            code="catalog_invalid",
            details={"catalog": problems},
        )
    fields = [{"code": row["code"], "name": row["name"]} for row in tables.get("fields", [])]
    return catalog_load(fields=fields, entries=entries)


def _assemble(tables: dict[str, list[dict[str, Any]]], problems: list[str]) -> list[dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for row in tables.get("procedures", []):
        entry = {k: v for k, v in row.items() if k != "_where"}
        entry["cases"] = []
        entries[row["national_code"]] = entry
    cases: dict[tuple[str, str], dict[str, Any]] = {}
    for row in tables.get("cases", []):
        entry = entries.get(row["national_code"])
        if entry is None:
            problems.append(
                _("%(where)s: no procedure %(code)s.")
                % {"where": row["_where"], "code": row["national_code"]}
            )
            continue
        case = {
            "code": row["case_code"],
            "name": row["name"],
            "processing_time": row["processing_time"],
            "time_unit": row["time_unit"],
            "online_processing_time": row["online_processing_time"],
            "form_schema": row["form_schema"],
            "fees": [],
            "components": [],
            "steps": [],
        }
        entry["cases"].append(case)
        cases[(row["national_code"], row["case_code"])] = case
    for table in ("fees", "components", "steps"):
        for row in tables.get(table, []):
            case = cases.get((row["national_code"], row["case_code"]))
            if case is None:
                problems.append(
                    _("%(where)s: no case %(case)s of procedure %(code)s.")
                    % {"where": row["_where"], "case": row["case_code"], "code": row["national_code"]}
                )
                continue
            case[table].append(
                {k: v for k, v in row.items() if k not in {"_where", "national_code", "case_code"}}
            )
    return list(entries.values())
