"""The OAuth endpoints' fixed-window rate limiter (identity/rate_limits.py)."""

from __future__ import annotations

import pytest

from hanoismart.identity import rate_limits
from hanoismart.identity.rate_limits import rate_limit_hit

pytestmark = pytest.mark.usefixtures("fresh_token_caches")


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]  # the start of a 60-second window
    monkeypatch.setattr(rate_limits.time, "time", lambda: now[0])
    return now


def test_each_key_is_counted_up_to_the_limit_then_refused(clock):
    assert [rate_limit_hit("a", limit=3) for _ in range(3)] == [0, 0, 0]

    assert rate_limit_hit("a", limit=3) == 60
    assert rate_limit_hit("b", limit=3) == 0


def test_a_request_is_refused_when_any_of_its_keys_is_past_the_limit(clock):
    rate_limit_hit("ip", limit=1)
    clock[0] += 15

    assert rate_limit_hit("other-client", "ip", limit=1) == 45
    # The refused request was counted under every key.
    assert rate_limit_hit("other-client", limit=1) == 45


def test_the_next_window_counts_afresh(clock):
    rate_limit_hit("a", limit=1)
    assert rate_limit_hit("a", limit=1) == 60
    clock[0] += 60

    assert rate_limit_hit("a", limit=1) == 0
