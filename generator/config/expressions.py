"""Derived fields: a small, safe grammar of decimal arithmetic over a row's other fields.

    unit_price: {compute: "total / quantity"}
    total: {compute: "round(quantity * unit_price * (1 - discount), 2)"}

Allowed: field names, numbers, `+ - * /`, parentheses, and `round(x, digits)`, `min`, `max`,
`abs`. Nothing else parses, so an expression can never call or reach anything else (Python's
`eval` is never used). Numbers are read from the expression's own text, so `0.1` is exactly one
tenth, and all arithmetic is `Decimal`.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, DivisionByZero, InvalidOperation

OPERATORS: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _round(value: Decimal, digits: Decimal = Decimal(0)) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-int(digits)), ROUND_HALF_EVEN)


FUNCTIONS: dict[str, Callable[..., Decimal]] = {"round": _round, "min": min, "max": max, "abs": abs}


class ExpressionError(ValueError):
    """An expression that does not parse, or cannot be worked out for a row; the message says why."""


class Expression:
    def __init__(self, source: str):
        self.source = source
        try:
            self.tree = ast.parse(source.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ExpressionError(f"{source!r} is not an expression ({exc.msg})") from None
        self.names: set[str] = set()
        self._check(self.tree)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            pass
        elif isinstance(node, ast.Name):
            self.names.add(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
            if node.keywords or not node.args:
                raise ExpressionError(f"{node.func.id}() takes numbers only, e.g. round(total, 2)")
            for argument in node.args:
                self._check(argument)
        else:
            allowed = "field names, numbers, + - * /, parentheses, " + ", ".join(f"{f}()" for f in FUNCTIONS)
            raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in {self.source!r} (allowed: {allowed})")

    def evaluate(self, values: Mapping[str, object]) -> Decimal:
        """The expression over these field values; ExpressionError says what went wrong."""
        try:
            return self._value(self.tree, values)
        except (DivisionByZero, ZeroDivisionError):
            raise ExpressionError(f"{self.source}: division by zero") from None
        except InvalidOperation:
            raise ExpressionError(f"{self.source}: not a number (0 / 0?)") from None

    def _value(self, node: ast.AST, values: Mapping[str, object]) -> Decimal:
        if isinstance(node, ast.BinOp):
            return OPERATORS[type(node.op)](self._value(node.left, values), self._value(node.right, values))
        if isinstance(node, ast.UnaryOp):
            operand = self._value(node.operand, values)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Constant):
            return Decimal(ast.get_source_segment(self.source.strip(), node) or str(node.value))
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(self._value(argument, values) for argument in node.args))
        value = values.get(node.id)
        if value is None:
            raise ExpressionError(f"{self.source}: {node.id} is blank")
        if not isinstance(value, Decimal):
            raise ExpressionError(f"{self.source}: {node.id} is not a number ({value!r})")
        return value
