"""The API's one pagination: ``page`` and ``page_size`` in; ``count`` and ``items`` out."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

MAX_PAGE = 100_000
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class PageNumber(PaginationBase):
    """``page`` (from 1) and ``page_size`` (1 to 200, default 50); the answer carries ``count`` and ``items``.

    Out-of-range values are refused with 422 rather than silently clamped, so a client sees its mistake
    (and a huge page number can never reach the database as an overflowing offset).
    """

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
        page_size: int = Field(
            DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page (at most 200)."
        )

    class Output(Schema):
        count: int = Field(..., description="Items matching the filters, on all pages.")
        page: int
        page_size: int
        items: list[Any]

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        offset = (pagination.page - 1) * pagination.page_size
        return {
            "count": queryset.count(),
            "page": pagination.page,
            "page_size": pagination.page_size,
            "items": list(queryset[offset : offset + pagination.page_size]),
        }
