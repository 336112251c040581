"""Reading, checking and writing a submission's values: type checks with a clear message per field, the
disaggregation keys, and an import summary (imported, updated, deleted, ignored, conflicts).

Writing is all or nothing: if one value is refused, none is written, and the summary says which and why.
An empty value removes the row: the figure becomes missing, which is not the same as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput
from hanoismart.reporting.models import (
    DISAGGREGATION_MAX_LENGTH,
    DataValue,
    FormItem,
    Indicator,
    Submission,
    ValueType,
)
from hanoismart.reporting.services.bulk import rows_delete, rows_insert, rows_update

MAX_DIGITS = 16  # before the decimal point (DataValue.number: 20 digits, 4 decimals)
MAX_TEXT_LENGTH = 2000
MAX_COMMENT_LENGTH = 500
_TRUE = {"true", "1", "yes", "có", "co", "x"}
_FALSE = {"false", "0", "no", "không", "khong"}


class ValuesRefused(InvalidInput):
    """Some values were refused, so none was written; ``summary`` says which and why."""

    def __init__(self, summary: ImportSummary):
        super().__init__(
            _("Some values are not valid; nothing was saved."),
            code="invalid_values",
            details=summary.errors(),
        )
        self.summary = summary


class ValueRefused(ValueError):
    """A value that cannot be stored; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class ValueEntry:
    """One value to write: indicator code, disaggregation key ("" for the total), raw value, comment."""

    indicator: str
    value: Any
    disaggregation: str = ""
    comment: str = ""


@dataclass
class ValueOutcome:
    indicator: str
    disaggregation: str
    status: str  # imported | updated | deleted | ignored | conflict
    reason: str = ""


@dataclass
class ImportSummary:
    """What a write did (or, on a dry run, would do) to each value."""

    outcomes: list[ValueOutcome] = field(default_factory=list)
    dry_run: bool = False

    def _count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def conflicts(self) -> list[ValueOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "conflict"]

    @property
    def counts(self) -> dict[str, int]:
        return {
            status: self._count(status)
            for status in ("imported", "updated", "deleted", "ignored", "conflict")
        }

    @property
    def is_ok(self) -> bool:
        return not self.conflicts

    def errors(self) -> dict[str, list[str]]:
        """Conflicts by field name (``CODE`` or ``CODE[key]``), as ``ApplicationError.details``."""
        found: dict[str, list[str]] = {}
        for outcome in self.conflicts:
            found.setdefault(field_name(outcome.indicator, outcome.disaggregation), []).append(outcome.reason)
        return found


def field_name(indicator_code: str, disaggregation: str) -> str:
    """The name of one value's field in forms and error lists: ``CODE`` or ``CODE[sex=female]``."""
    return f"{indicator_code}[{disaggregation}]" if disaggregation else indicator_code


def disaggregation_normalise(indicator: Indicator | FormIndicator, key: str) -> str:
    """``key`` ("sex=female|age=0-5") checked against the indicator's categories and sorted by category."""
    key = (key or "").strip()
    if not key:
        return ""
    if len(key) > DISAGGREGATION_MAX_LENGTH:
        raise ValueRefused(_("The disaggregation is too long."))
    categories = {item["code"]: item["options"] for item in indicator.disaggregations or []}
    parts: dict[str, str] = {}
    for part in key.split("|"):
        category, _sep, option = part.partition("=")
        category, option = category.strip(), option.strip()
        if category not in categories or option not in categories[category] or category in parts:
            raise ValueRefused(
                _("%(key)s is not a disaggregation of %(code)s.") % {"key": part, "code": indicator.code}
            )
        parts[category] = option
    return "|".join(f"{category}={parts[category]}" for category in sorted(parts))


def value_parse(indicator: Indicator | FormIndicator, raw: Any) -> tuple[Decimal | None, str]:
    """The (number, text) to store for ``raw`` typed into ``indicator``; raises ``ValueRefused`` with the
    reason. Accepts a decimal comma ("12,5") when there is no point."""
    if indicator.value_type == ValueType.TEXT:
        text = str(raw).strip()
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueRefused(_("At most %(count)d characters.") % {"count": MAX_TEXT_LENGTH})
        return None, text
    if indicator.value_type == ValueType.BOOLEAN:
        if isinstance(raw, bool):
            return Decimal(int(raw)), ""
        word = str(raw).strip().lower()
        if word in _TRUE:
            return Decimal(1), ""
        if word in _FALSE:
            return Decimal(0), ""
        raise ValueRefused(_("Answer yes or no."))
    if isinstance(raw, bool):
        raise ValueRefused(_("Enter a number."))
    text = str(raw).strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValueRefused(_("Enter a number.")) from None
    if not number.is_finite():
        raise ValueRefused(_("Enter a number."))
    if number.adjusted() >= MAX_DIGITS:
        raise ValueRefused(_("This number is too large."))
    if indicator.value_type == ValueType.INTEGER and number != number.to_integral_value():
        raise ValueRefused(_("Enter a whole number."))
    if number.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueRefused(_("At most 4 decimal places."))
    if indicator.value_type == ValueType.PERCENTAGE and not Decimal(-1000) <= number <= Decimal(1000):
        raise ValueRefused(_("A percentage between -1000 and 1000."))
    return number, ""


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


class FormIndicator(NamedTuple):
    """What checking a value needs of its indicator, read as plain values (a form has 300 of them)."""

    pk: int
    code: str
    value_type: str
    disaggregations: list


def values_write(
    *, submission: Submission, entries: Sequence[ValueEntry], dry_run: bool = False
) -> ImportSummary:
    """Check every entry against the submission's version and types; unless there is a conflict or it is a
    dry run, write them all. No permission check: the calling service has done it."""
    items = {
        code: FormIndicator(pk, code, value_type, disaggregations or [])
        for pk, code, value_type, disaggregations in FormItem.objects.filter(
            version_id=submission.version_id
        ).values_list(
            "indicator_id", "indicator__code", "indicator__value_type", "indicator__disaggregations"
        )
    }
    # (indicator, disaggregation) → (row id, number, text, comment)
    stored = {
        (indicator_id, disaggregation): (pk, number, text, comment)
        for pk, indicator_id, disaggregation, number, text, comment in DataValue.objects.filter(
            submission=submission
        ).values_list("pk", "indicator_id", "disaggregation", "number", "text", "comment")
    }
    summary = ImportSummary(dry_run=dry_run)
    now = timezone.now()
    to_create: list[tuple] = []
    to_update: list[tuple] = []
    to_delete: list[int] = []
    seen: set[tuple[int, str]] = set()
    for entry in entries:
        code = str(entry.indicator or "").strip()
        indicator = items.get(code)
        if indicator is None:
            summary.outcomes.append(
                ValueOutcome(
                    code, str(entry.disaggregation or ""), "conflict", _("This indicator is not in the form.")
                )
            )
            continue
        try:
            key = disaggregation_normalise(indicator, str(entry.disaggregation or ""))
            comment = str(entry.comment or "").strip()
            if len(comment) > MAX_COMMENT_LENGTH:
                raise ValueRefused(_("The comment is too long."))
            if (indicator.pk, key) in seen:
                raise ValueRefused(_("This value is given twice."))
            seen.add((indicator.pk, key))
            parsed = None if _is_empty(entry.value) else value_parse(indicator, entry.value)
        except ValueRefused as refusal:
            summary.outcomes.append(
                ValueOutcome(code, str(entry.disaggregation or ""), "conflict", str(refusal))
            )
            continue
        row = stored.get((indicator.pk, key))
        if parsed is None:
            if row is None:
                summary.outcomes.append(ValueOutcome(code, key, "ignored"))
            else:
                to_delete.append(row[0])
                summary.outcomes.append(ValueOutcome(code, key, "deleted"))
            continue
        number, text = parsed
        if row is None:
            to_create.append((submission.pk, indicator.pk, key, number, text, comment, now))
            summary.outcomes.append(ValueOutcome(code, key, "imported"))
        elif row[1:] == (number, text, comment):
            summary.outcomes.append(ValueOutcome(code, key, "ignored"))
        else:
            to_update.append((row[0], number, text, comment, now))
            summary.outcomes.append(ValueOutcome(code, key, "updated"))
    if dry_run or summary.conflicts:
        return summary
    # plain tuples in one statement each: 300 model instances cost more than the write itself
    rows_delete(DataValue, to_delete)
    rows_update(DataValue, ("number", "text", "comment", "updated_at"), to_update)
    rows_insert(
        DataValue,
        ("submission_id", "indicator_id", "disaggregation", "number", "text", "comment", "updated_at"),
        to_create,
    )
    return summary
