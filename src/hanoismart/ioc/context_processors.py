"""What the site's menu needs from the operations center: whether to show it to the signed-in user."""

from __future__ import annotations

from django.http import HttpRequest

from hanoismart.identity.selectors.staff import roles_of_request
from hanoismart.ioc.permissions import ROLE_PERMISSIONS, IocPermission


def ioc_link(request: HttpRequest) -> dict[str, object]:
    """``may_see_ioc``: a callable, so the roles are read only on pages whose menu asks for it (once per
    request: the desk link shares the read). A role holding the permission anywhere shows the link."""
    user = getattr(request, "user", None)

    def may_see_ioc() -> bool:
        if user is not None and user.is_authenticated and user.is_active and user.is_superuser:
            return True
        return any(
            IocPermission.DASHBOARD_VIEW in ROLE_PERMISSIONS.get(role, frozenset())
            for role in roles_of_request(request)
        )

    return {"may_see_ioc": may_see_ioc}
