"""Reads about organisations: which ones a person acts for, and in what role."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from hanoismart.identity.models import Membership, MembershipRole, Organisation


def organisations_of(user: Any) -> QuerySet[Organisation]:
    """The organisations ``user`` may act for, by name."""
    if user is None or not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user).select_related("ward").order_by("name", "pk")


def memberships_of(user: Any) -> QuerySet[Membership]:
    """The memberships of ``user`` with their organisation (for pages and the API that show the role)."""
    if user is None or not user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user)
        .select_related("organisation__ward")
        .order_by("organisation__name", "organisation__pk")
    )


def membership_of(user: Any, organisation: Organisation) -> Membership | None:
    """The membership through which ``user`` acts for ``organisation``, if any."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return Membership.objects.filter(user=user, organisation=organisation).first()


def acting_as(user: Any, organisation: Organisation) -> bool:
    """Whether ``user`` may act for ``organisation`` (as its legal representative or authorised by it)."""
    return membership_of(user, organisation) is not None


def is_legal_representative(user: Any, organisation: Organisation) -> bool:
    """Whether ``user`` is a legal representative of ``organisation``."""
    membership = membership_of(user, organisation)
    return membership is not None and membership.role == MembershipRole.LEGAL_REPRESENTATIVE


def organisation_members(organisation: Organisation) -> QuerySet[Membership]:
    """The people who act for ``organisation``, legal representatives first."""
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("-role", "user__full_name_folded")
    )
