"""What the site's menu needs from dossiers: whether to show the one-stop desk to the signed-in user."""

from __future__ import annotations

from django.http import HttpRequest

from hanoismart.dossiers.permissions import DossierPermission, positions_with


def desk_link(request: HttpRequest) -> dict[str, object]:
    """``may_use_desk``: a callable, so the positions are read only on pages whose menu asks for it."""
    user = getattr(request, "user", None)

    def may_use_desk() -> bool:
        return bool(user is not None and positions_with(user, DossierPermission.DOSSIER_VIEW))

    return {"may_use_desk": may_use_desk}
