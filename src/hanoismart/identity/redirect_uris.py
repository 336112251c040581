"""The rule for apps' redirect URIs: absolute, exact (no wildcards, no fragment), https except on loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext as _

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def redirect_uri_problems(uri: str) -> list[str]:
    """What is wrong with ``uri`` as a registered redirect URI (an empty list when it is acceptable)."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return [_("“%(uri)s” is not a valid URL.") % {"uri": uri}]
    problems = []
    if parts.scheme not in ("https", "http") or not host:
        problems.append(_("“%(uri)s” must be an absolute https URL.") % {"uri": uri})
    elif parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        problems.append(
            _("“%(uri)s” must use https (plain http is allowed only for 127.0.0.1, [::1] and localhost).")
            % {"uri": uri}
        )
    if parts.fragment or "#" in uri:
        problems.append(_("“%(uri)s” must not contain a fragment (#).") % {"uri": uri})
    if "*" in host:
        problems.append(_("“%(uri)s” must not contain wildcards.") % {"uri": uri})
    return problems
