"""Public pages of the directory: the wards and communes of the city, searchable without diacritics."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hanoismart.directory.models import UnitKind
from hanoismart.directory.selectors import unit_list

PAGE_SIZE = 50
_LOCAL_KINDS = (UnitKind.WARD, UnitKind.COMMUNE, UnitKind.SPECIAL_ZONE)


def units(request: HttpRequest) -> HttpResponse:
    """Wards and communes in force today, filtered by name (``q``) and kind (``type``), 50 a page."""
    query = "".join(char for char in request.GET.get("q", "")[:100] if char.isprintable())
    kind = request.GET.get("type", "")
    if kind not in _LOCAL_KINDS:
        kind = ""
    found = unit_list(kind=kind or None, query=query).filter(kind__in=_LOCAL_KINDS)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": query,
        "kind": kind,
        "kinds": [(choice.value, choice.label) for choice in _LOCAL_KINDS],
    }
    return render(request, "directory/unit_list.html", context)
