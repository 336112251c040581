"""Public pages of the procedure catalog: search, and one page per procedure a resident can understand."""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from hanoismart.common.errors import NotFound
from hanoismart.procedures.models import NATIONAL_CODE_PATTERN, Level, Subject
from hanoismart.procedures.selectors import fee_for, field_list, procedure_detail, procedure_search

PAGE_SIZE = 20


def procedure_list(request: HttpRequest) -> HttpResponse:
    """Active procedures matching ``q`` (diacritics optional), filtered by field and level, 20 a page."""
    query = "".join(char for char in request.GET.get("q", "")[:100] if char.isprintable())
    level = request.GET.get("level", "")
    if level not in Level.values:
        level = ""
    fields = list(field_list())
    field = request.GET.get("field", "")
    if field not in {f.code for f in fields}:
        field = ""
    found = procedure_search(query=query, field=field or None, level=level or None)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": query,
        "level": level,
        "levels": Level.choices,
        "field": field,
        "fields": fields,
    }
    return render(request, "procedures/procedure_list.html", context)


def procedure_page(request: HttpRequest, code: str) -> HttpResponse:
    """One procedure: what it is for, who files where, how long, what it costs online and at the counter,
    which papers (and which the document store can supply), and the steps."""
    if not re.match(NATIONAL_CODE_PATTERN, code):
        raise Http404
    try:
        procedure = procedure_detail(code=code)
    except NotFound as exc:
        raise Http404 from exc
    today = timezone.localdate()
    cases = []
    for case in procedure.cases.all():
        online = fee_for(case=case, channel="online", on_date=today)
        counter = fee_for(case=case, channel="counter", on_date=today)
        fee_rows = [
            (
                {
                    "name": on.name,
                    "note": on.note,
                    "resident_pays_text": _vnd(on.resident_pays),
                    "city_pays_text": _vnd(on.city_pays) if on.city_pays else "",
                },
                {"resident_pays_text": _vnd(off.resident_pays)},
            )
            for on, off in zip(online.lines, counter.lines, strict=True)
        ]
        form_fields = [
            {"title": spec.get("title", name), "required": name in case.form_schema.get("required", [])}
            for name, spec in case.form_schema.get("properties", {}).items()
        ]
        cases.append(
            {
                "case": case,
                "online": online,
                "fee_rows": fee_rows,
                "online_total": _vnd(online.resident_pays),
                "counter_total": _vnd(counter.resident_pays),
                "form_fields": form_fields,
            }
        )
    subject_labels = [str(Subject(value).label) for value in procedure.subjects if value in Subject.values]
    context = {"procedure": procedure, "cases": cases, "subject_labels": subject_labels}
    return render(request, "procedures/procedure_detail.html", context)


def _vnd(amount: int) -> str:
    """An amount in đồng as Vietnamese write it: 100.000 ₫."""
    return f"{amount:,} ₫".replace(",", ".")
