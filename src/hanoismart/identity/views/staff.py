"""Staff pages: find a resident and open their record, within the units the staff member serves.

Both pages need identity:person:view and a confirmed second factor. A record outside the staff member's units
answers 404, as if it did not exist; opening one is audited by ``services.staff.person_open``.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from hanoismart.common.errors import NotFound
from hanoismart.identity.middleware import client_ip
from hanoismart.identity.models import User
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.selectors.organisations import memberships_of
from hanoismart.identity.selectors.staff import people_search, positions_active
from hanoismart.identity.services.staff import person_open

PEOPLE_PER_PAGE = 20
QUERY_MAX_LENGTH = 100


def _staff_gate(request: HttpRequest) -> HttpResponse | None:
    """A redirect to sign in for visitors; 403 for people without identity:person:view or a second factor."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_permission(request.user, IdentityPermission.IDENTITY_PERSON_VIEW):
        raise PermissionDenied
    is_verified = getattr(request.user, "is_verified", None)
    if is_verified is not None and not is_verified():
        raise PermissionDenied
    return None


@require_GET
def people(request: HttpRequest) -> HttpResponse:
    """Search the residents of the units served, by national ID, mobile number or name."""
    if (response := _staff_gate(request)) is not None:
        return response
    query = " ".join(request.GET.get("q", "").split())[:QUERY_MAX_LENGTH]
    results = people_search(actor=request.user, query=query) if query else User.objects.none()
    page = Paginator(results, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "identity/staff/people.html",
        {"query": query, "page": page, "positions": positions_active(request.user)},
    )


@require_GET
def person(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One resident's record; opening it is recorded where the resident can see it."""
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        resident = person_open(actor=request.user, public_id=public_id, ip=client_ip(request))
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "identity/staff/person.html",
        {"person": resident, "memberships": memberships_of(resident)},
    )


urlpatterns = [
    path("staff/people/", people, name="staff_people"),
    path("staff/people/<uuid:public_id>/", person, name="staff_person"),
]
