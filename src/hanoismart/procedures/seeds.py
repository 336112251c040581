"""The procedures app's part of ``hanoismart seed``: Hanoi's most used procedures, from
``data/catalog_hanoi.json``.

Reference data, so it runs with or without ``--demo``; idempotent (a second run updates nothing).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from hanoismart.procedures.services import catalog_load

CATALOG_PATH = Path(__file__).parent / "data" / "catalog_hanoi.json"


@cache
def _raw_catalog() -> dict[str, Any]:
    return json.loads(CATALOG_PATH.read_text(encoding="utf-8"))


def catalog_entries() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The data file's fields and procedures, its named forms, workflows and papers written out in full."""
    raw = _raw_catalog()
    forms, workflows, papers = raw["forms"], raw["workflows"], raw["papers"]
    entries = copy.deepcopy(raw["procedures"])
    for entry in entries:
        for case in entry["cases"]:
            case["form_schema"] = copy.deepcopy(forms[case.pop("form")]) if case.get("form") else {}
            case["steps"] = copy.deepcopy(workflows[case.pop("workflow")]) if case.get("workflow") else []
            case["components"] = [
                copy.deepcopy(papers[item]) if isinstance(item, str) else item
                for item in case.get("components", [])
            ]
    return raw["fields"], entries


def run(*, demo: bool, stdout: TextIO) -> None:
    """Load (or refresh) the catalog; the same with or without ``demo``."""
    fields, entries = catalog_entries()
    summary = catalog_load(fields=fields, entries=entries)
    stdout.write(
        f"procedures: {len(entries)} in the catalog, {summary.procedures_created} created, "
        f"{summary.procedures_updated} updated\n"
    )
