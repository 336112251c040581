"""Reads about a person's own account: wards to live in, second-factor state, devices, who accessed their
data."""

from __future__ import annotations

import datetime as dt
import re
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.selectors import audit_events_about
from hanoismart.directory.models import Unit, UnitKind
from hanoismart.directory.selectors import unit_list
from hanoismart.identity.models import User, UserSession
from hanoismart.identity.selectors.staff import positions_active

# Human labels for the audit actions a person sees in "who accessed my data". Actions recorded by other apps
# and not listed here are shown by their code.
ACTION_LABELS = {
    "identity.person.viewed": _("Your record was opened by staff"),
    "identity.person.created": _("Your account was created by an operator"),
    "identity.person.changed": _("Your account was changed by an operator"),
    "identity.position.assigned": _("Staff position assigned"),
    "identity.position.ended": _("Staff position ended"),
    "identity.organisation.registered": _("Organisation registered"),
    "identity.organisation.changed": _("Organisation details changed"),
    "identity.membership.added": _("Added to an organisation"),
    "identity.membership.removed": _("Removed from an organisation"),
    "identity.account.registered": _("Account registered"),
    "identity.account.updated": _("Contact details changed"),
    "identity.account.verified": _("Identity verified with the national population database"),
    "identity.account.verification_failed": _("Identity verification did not match"),
    "identity.sign_in.succeeded": _("Signed in"),
    "identity.sign_in.failed": _("Failed sign-in attempt"),
    "identity.sign_in.second_factor": _("Second factor confirmed"),
    "identity.sign_in.second_factor_failed": _("Wrong authenticator code"),
    "identity.one_time_code.sent": _("One-time code sent by SMS"),
    "identity.password.reset": _("Password reset"),
    "identity.totp.enabled": _("Authenticator app turned on"),
    "identity.totp.disabled": _("Authenticator app turned off"),
    "identity.sessions.signed_out_others": _("Other devices signed out"),
    "identity.signed_out": _("Signed out"),
}


def ward_choices() -> QuerySet[Unit]:
    """The wards and communes of the deployment's city in force today, for "ward of residence", in the order a
    Vietnamese reader expects (by the name without diacritics: Hà Đông before Hoàng Mai, which byte order
    reverses)."""
    return (
        unit_list(parent_code=settings.PROVINCE_CODE)
        .filter(kind__in=(UnitKind.WARD, UnitKind.COMMUNE))
        .order_by("name_folded", "name")
    )


def account_is_staff(*, user: User, day: dt.date | None = None) -> bool:
    """Whether the person holds a staff position on ``day`` (today by default), by the rule that grants staff
    permissions (``positions_active``: ``valid_to`` is the first day no longer held)."""
    return positions_active(user, on_date=day).exists()


def totp_device_for(*, user: User, confirmed: bool = True) -> TOTPDevice | None:
    """The person's authenticator-app device (confirmed, or the one being set up)."""
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-id").first()


def account_requires_second_factor(*, user: User) -> bool:
    """Staff always sign in with an authenticator code; residents do once they have turned it on."""
    return account_is_staff(user=user) or TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def user_session_list(*, user: User) -> QuerySet[UserSession]:
    """The person's signed-in devices that may still be active, most recently seen first."""
    since = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return UserSession.objects.filter(user=user, last_seen_at__gte=since).order_by("-last_seen_at")


def account_access_log(*, user: User) -> QuerySet[AuditEvent]:
    """Everything recorded about this person's data, newest first ("who accessed my data")."""
    return audit_events_about(subject_ref=user.public_id)


def audit_action_label(action: str) -> str:
    """A person-readable name for an audit action code."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


_BROWSERS = (  # order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("CocCoc", "Cốc Cốc"),
    ("Zalo", "Zalo"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def user_agent_label(user_agent: str) -> str:
    """ "Chrome on Android" from a User-Agent header; a short generic label when it is not recognised."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return str(_("%(browser)s on %(system)s") % {"browser": browser, "system": system})
    if browser or system:
        return browser or system
    short = re.split(r"[\s/]", user_agent.strip(), maxsplit=1)[0] if user_agent.strip() else ""
    return short or str(_("Unknown device"))
