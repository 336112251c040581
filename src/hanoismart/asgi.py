"""The ASGI application (`hanoismart serve --interface asgi`): the site, with the OAuth endpoints on their
short middleware chain (identity/oauth_handler.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
site = get_asgi_application()

from hanoismart.identity.oauth_handler import oauth_endpoints_asgi  # noqa: E402 - needs Django set up

application = oauth_endpoints_asgi(site)
