"""Fixtures shared by the identity tests."""

import pytest
from django.core.cache import cache

from hanoismart.identity.token_path import client_app_cache_clear


@pytest.fixture
def fresh_token_caches():
    """The rate limits' cache and the token path's per-process client apps, empty before and after."""
    cache.clear()
    client_app_cache_clear()
    yield
    cache.clear()
    client_app_cache_clear()
