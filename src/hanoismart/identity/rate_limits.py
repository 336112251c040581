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
        if _count(f"ratelimit:{key}:{start}", timeout=window + 1) > limit:
            retry_after = max(retry_after, start + window - now)
    return retry_after


def _count(cache_key: str, *, timeout: int) -> int:
    """One more request under ``cache_key``: the count so far in its window. Incremented first, as the key
    exists for every request of a window but its first (one cache operation instead of two); incr() and
    add() stay atomic enough per process, a lost race costs one uncounted request."""
    try:
        return cache.incr(cache_key)
    except ValueError:  # the window's first request under this key
        pass
    if cache.add(cache_key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(cache_key)  # another request added it in between
    except ValueError:  # and it expired at once
        cache.add(cache_key, 1, timeout=timeout)
        return 1
