from decimal import Decimal

import pytest

from hanoismart.reporting.expressions import ExpressionError, evaluate, names

V = {"A": Decimal(3), "B": Decimal(5), "C": Decimal(2)}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("A <= B", True),
        ("B = A + C", True),
        ("B == A + C", True),
        ("A >= 0", True),
        ("0 <= A <= 2", False),
        ("(A + B) * 2 / 4 > C", True),
        ("-A < 0", True),
        ("A != B", True),
        ("A / (B - 5) > 0", None),
        ("MISSING > 0", None),
    ],
)
def test_evaluate(expression, expected):
    assert evaluate(expression, V) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "A.b > 1",
        "A ** 2 > 1",
        "A",
        "[A] == [B]",
        "A if B else C",
        "'x' == A",
        "",
        "A < (B < C)",
    ],
)
def test_refuses_anything_else(expression):
    with pytest.raises(ExpressionError):
        evaluate(expression, V)


def test_names():
    assert names("DONE <= IN + 0") == {"DONE", "IN"}
