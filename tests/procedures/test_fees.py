import datetime as dt

import pytest

from hanoismart.procedures.selectors import fee_for

BEFORE = dt.date(2025, 12, 31)
FROM = dt.date(2026, 1, 1)


def _by_setter(quote):
    return {line.set_by: (line.amount, line.resident_pays, line.city_pays) for line in quote.lines}


def test_online_from_2026_city_council_fee_is_zero_and_city_pays_ministry_fee(fee_case):
    quote = fee_for(case=fee_case, channel="online", on_date=FROM)
    assert _by_setter(quote) == {"city_council": (0, 0, 0), "ministry_of_finance": (8_000, 0, 8_000)}
    assert (quote.resident_pays, quote.city_pays) == (0, 8_000)
    assert quote.postal_return_free is True


def test_online_before_2026_resident_pays_everything(fee_case):
    quote = fee_for(case=fee_case, channel="online", on_date=BEFORE)
    assert _by_setter(quote) == {
        "city_council": (100_000, 100_000, 0),
        "ministry_of_finance": (8_000, 8_000, 0),
    }
    assert (quote.resident_pays, quote.city_pays) == (108_000, 0)
    assert quote.postal_return_free is False


@pytest.mark.parametrize("on_date", [BEFORE, FROM])
def test_counter_filing_pays_in_full(fee_case, on_date):
    quote = fee_for(case=fee_case, channel="counter", on_date=on_date)
    assert (quote.resident_pays, quote.city_pays, quote.total) == (108_000, 0, 108_000)


def test_unknown_channel_is_refused(fee_case):
    with pytest.raises(ValueError, match="unknown channel"):
        fee_for(case=fee_case, channel="post", on_date=FROM)  # type: ignore[arg-type]
