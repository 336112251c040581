"""A small fixed-window rate limiter counting in Django's cache (settings.CACHES), for the OAuth endpoints.

It is a flood guard, not an accounting system: with the default per-process LocMem cache each web worker
counts on its own (docs/configuration.md).
"""

from __future__ import annotations

import time

from django.core.cache import cache

WINDOW_SECONDS = 60


def rate_limit_hit(*keys: str, limit: int, window: int = WINDOW_SECONDS) -> int:
    """Count one request under each key; the seconds to wait when any key is past ``limit``, else 0."""
    now = int(time.time())
    start = now - now % window
    retry_after = 0
    for key in keys:
        cache_key = f"ratelimit:{key}:{start}"
        # add() then incr() stays atomic enough per process; a lost race costs one uncounted request.
        if cache.add(cache_key, 1, timeout=window + 1):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add() and incr()
                cache.add(cache_key, 1, timeout=window + 1)
                count = 1
        if count > limit:
            retry_after = max(retry_after, start + window - now)
    return retry_after
