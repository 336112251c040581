"""Writing rows in bulk from tuples: PostgreSQL's array literals; a round trip through a report's values."""

import datetime as dt
from decimal import Decimal

import pytest

from hanoismart.reporting.models import DataValue
from hanoismart.reporting.services import ValueEntry, submission_open, submission_save_draft
from hanoismart.reporting.services.bulk import array_literal


def test_array_literal_quotes_text_and_keeps_numbers_and_moments_exact():
    moment = dt.datetime(2025, 9, 14, 17, 30, 0, 123456, tzinfo=dt.UTC)
    assert array_literal([1, None, Decimal("-12.3400"), Decimal("1E+3"), True]) == "{1,NULL,-12.3400,1E+3,t}"
    assert array_literal(['a "b"', "c\\d", "", "NULL", "x,{y}"]) == (
        '{"a \\"b\\"","c\\\\d","","NULL","x,{y}"}'
    )
    assert array_literal([moment]) == "{2025-09-14T17:30:00.123456+00:00}"
    with pytest.raises(ValueError, match="naive"):
        array_literal([dt.datetime(2025, 1, 1)])  # noqa: DTZ001
    with pytest.raises(TypeError):
        array_literal([1.5])


def test_values_round_trip_through_the_bulk_writes(world, hoan_kiem):
    # given text that an array literal must quote, a negative decimal, a zero and a text "NULL"
    submission = submission_open(
        actor=world.reporter_hk, form=world.form, period=world.period, unit=hoan_kiem
    )
    comment = 'Số "chưa chốt", xem \\\\ghi chú {1,2}'
    entries = [
        ValueEntry("DOSSIERS_IN", "1234567890", comment=comment),
        ValueEntry("ONLINE_RATE", "-0,0001"),
        ValueEntry("NOTE", "NULL"),
        ValueEntry("BIRTHS", "0", disaggregation="sex=female"),
    ]
    # when written, then changed and partly removed
    submission_save_draft(actor=world.reporter_hk, submission=submission, values=entries)
    stored = {
        (row.indicator.code, row.disaggregation): (row.number, row.text, row.comment)
        for row in DataValue.objects.filter(submission=submission).select_related("indicator")
    }
    assert stored == {
        ("DOSSIERS_IN", ""): (Decimal(1234567890), "", comment),
        ("ONLINE_RATE", ""): (Decimal("-0.0001"), "", ""),
        ("NOTE", ""): (None, "NULL", ""),
        ("BIRTHS", "sex=female"): (Decimal(0), "", ""),
    }
    summary = submission_save_draft(
        actor=world.reporter_hk,
        submission=submission,
        values=[ValueEntry("DOSSIERS_IN", "12", comment='"ok"'), ValueEntry("NOTE", "")],
    )
    # then
    assert (summary.counts["updated"], summary.counts["deleted"]) == (1, 1)
    rows = DataValue.objects.filter(submission=submission)
    assert rows.get(indicator__code="DOSSIERS_IN").comment == '"ok"'
    assert rows.get(indicator__code="DOSSIERS_IN").number == 12
    assert not rows.filter(indicator__code="NOTE").exists()
    assert rows.count() == 3
