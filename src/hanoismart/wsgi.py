"""The WSGI application (`hanoismart serve`): the site, with the OAuth endpoints on their short middleware
chain (identity/oauth_handler.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
site = get_wsgi_application()

from hanoismart.identity.oauth_handler import oauth_endpoints_wsgi  # noqa: E402 - needs Django set up

application = oauth_endpoints_wsgi(site)
