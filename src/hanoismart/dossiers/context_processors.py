"""What the site's menu needs from dossiers: whether to show the one-stop desk to the signed-in user."""

from __future__ import annotations

from django.http import HttpRequest

from hanoismart.dossiers.permissions import ROLE_PERMISSIONS, DossierPermission
from hanoismart.identity.selectors.staff import roles_of_request


def desk_link(request: HttpRequest) -> dict[str, object]:
    """``may_use_desk``: a callable, so the roles are read only on pages whose menu asks for it (and once per
    request, whichever app's link asks first)."""

    def may_use_desk() -> bool:
        return any(
            DossierPermission.DOSSIER_VIEW in ROLE_PERMISSIONS.get(role, frozenset())
            for role in roles_of_request(request)
        )

    return {"may_use_desk": may_use_desk}
