"""Refuse NUL characters in requests before they reach a view.

PostgreSQL cannot store a NUL (0x00) in text, so a NUL anywhere in a query string or form/JSON body would
otherwise surface as a database error (a 500) in whichever view stored or searched it. One check here keeps
"bad input gets a 4xx" true for every endpoint, present and future. In multipart forms only the text fields
are checked: uploaded files legitimately contain NUL bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

_CHECKED_BODIES = ("application/x-www-form-urlencoded", "application/json")


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    if request.content_type == "multipart/form-data":
        return any("\x00" in value for _key, values in request.POST.lists() for value in values)
    if request.content_type in _CHECKED_BODIES:
        body = request.body
        if request.content_type == "application/json":
            return b"\\u0000" in body or b"\x00" in body
        return b"\x00" in unquote_to_bytes(body)
    return False


class RejectNulCharactersMiddleware:
    """Answer 400 (JSON under /api/, a page elsewhere) to a request carrying a NUL character."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = _("The request contains a character that is not allowed (NUL).")
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid", "detail": message}, status=400)
            return render(request, "common/error.html", {"status": 400, "detail": message}, status=400)
        return self.get_response(request)
