"""The WSGI application (`hanoismart serve`): the site, with the OAuth endpoints (identity/oauth_handler.py)
and the API's bearer requests (api_handler.py) on their short middleware chain."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
site = get_wsgi_application()

from hanoismart.api_handler import bearer_api_wsgi  # noqa: E402 - needs Django set up
from hanoismart.identity.oauth_handler import oauth_endpoints_wsgi  # noqa: E402 - needs Django set up

api_application = bearer_api_wsgi(site)
application = oauth_endpoints_wsgi(api_application)
application.api_handler = api_application.api_handler  # type: ignore[attr-defined]
