"""A small, safe evaluator for validation rules: comparisons over indicator codes and numbers.

``A <= B``, ``A = B + C`` (a single ``=`` means equality), ``0 <= RATE <= 100``, ``(A + B) * 2 > C``. The text
is parsed with Python's ``ast`` and only names, numbers, + - * /, unary minus, parentheses and comparisons are
accepted; nothing is ever passed to ``eval``. Arithmetic is in ``Decimal``; division by zero makes the rule
not applicable (None), like a missing value.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from decimal import Decimal, DivisionByZero, InvalidOperation

MAX_EXPRESSION_LENGTH = 500


class ExpressionError(ValueError):
    """The expression is not one this evaluator accepts."""


_ARITHMETIC = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_COMPARISONS = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
# A lone "=" (not part of <=, >=, !=, ==) is the equality officials write.
_LONE_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")


def parse(expression: str) -> ast.expr:
    """Parse ``expression`` into a checked tree; raises ``ExpressionError`` if anything is not allowed."""
    if not expression or len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError("The expression is empty or too long.")
    try:
        tree = ast.parse(_LONE_EQUALS.sub("==", expression), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"Cannot read the expression: {error.msg}.") from error
    _check(tree.body)
    if not isinstance(tree.body, ast.Compare):
        raise ExpressionError("A rule must compare two sides, e.g. A <= B.")
    return tree.body


def _check(node: ast.AST) -> None:
    if isinstance(node, ast.Compare):
        if not all(type(op) in _COMPARISONS for op in node.ops):
            raise ExpressionError("Only comparisons =, !=, <, <=, >, >= are allowed.")
        for child in [node.left, *node.comparators]:
            if isinstance(child, ast.Compare):
                raise ExpressionError("Comparisons cannot be nested.")
            _check(child)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITHMETIC:
            raise ExpressionError("Only + - * / are allowed.")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExpressionError("Only a minus sign is allowed before a value.")
        _check(node.operand)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError("Only numbers are allowed as constants.")
    elif isinstance(node, ast.Name):
        pass
    else:
        raise ExpressionError(f"{type(node).__name__} is not allowed in a rule.")


def names(expression: str) -> set[str]:
    """The indicator codes ``expression`` refers to."""
    return {node.id for node in ast.walk(parse(expression)) if isinstance(node, ast.Name)}


class _Missing(Exception):
    pass


def _value(node: ast.expr, values: Mapping[str, Decimal]) -> Decimal:
    if isinstance(node, ast.Constant):
        return Decimal(str(node.value))
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise _Missing
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return _ARITHMETIC[type(node.op)](_value(node.left, values), _value(node.right, values))
    raise ExpressionError(
        f"{type(node).__name__} is not allowed in a rule."
    )  # pragma: no cover - parse refuses


def evaluate(expression: str, values: Mapping[str, Decimal]) -> bool | None:
    """Whether ``expression`` holds for ``values`` (code → Decimal); None when a value it needs is missing
    or it divides by zero, so the rule does not apply."""
    tree = parse(expression)
    try:
        sides = [_value(tree.left, values), *(_value(side, values) for side in tree.comparators)]
    except _Missing:
        return None
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        return None
    return all(
        _COMPARISONS[type(op)](left, right)
        for op, left, right in zip(tree.ops, sides, sides[1:], strict=False)
    )
