"""Branch conditions: a tiny, safe expression language for workflow YAML.

    invoice.balance > 0
    contact.language == "es" and not (promise.status in ["kept", "cancelled"])

Expressions are read with Python's `ast` parser and then checked against a strict whitelist
of node types; they are interpreted here and never handed to eval(). Staff edit workflows,
so nothing they write may call a function, reach an attribute of a live object or import.

Values come in flat: {"invoice.balance": Decimal("120.00"), "outcome": "voicemail", ...}.
A name that is missing evaluates as None; ordering comparisons with None are False.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

ROOTS = ("invoice", "contact", "promise", "enrollment", "outcome", "org")

# Lower-case literals as a billing office would write them; Python's True/False/None also work.
_LITERALS = {"true": True, "false": False, "null": None, "none": None}

_MISSING = object()


class ConditionError(ValueError):
    """The condition cannot be read; the message is fit to show to staff."""


@dataclass(frozen=True)
class Condition:
    source: str
    names: frozenset[str]
    _run: Callable[[Mapping[str, object]], object] = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, object]) -> bool:
        return bool(self._run(values))


def compile_condition(expr: str) -> Condition:
    if not isinstance(expr, str) or not expr.strip():
        raise ConditionError("the condition is empty")
    text = expr.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"could not read the condition {text!r} ({exc.msg})") from None
    names: set[str] = set()
    run = _build(tree.body, names)
    return Condition(source=text, names=frozenset(names), _run=run)


# --- building: each node becomes a closure over already-checked children -------------------

_COMPARE: dict[type, str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in",
}


def _build(node: ast.AST, names: set[str]) -> Callable[[Mapping[str, object]], object]:
    if isinstance(node, ast.BoolOp):
        parts = [_build(v, names) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda values: all(bool(p(values)) for p in parts)
        return lambda values: any(bool(p(values)) for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _build(node.operand, names)
        return lambda values: not inner(values)
    if isinstance(node, ast.Compare):
        return _build_compare(node, names)
    value = _literal(node)
    if value is not _MISSING:
        return lambda values: value
    if isinstance(node, ast.Name | ast.Attribute):
        name = _dotted(node)
        names.add(name)
        return lambda values: _normalize(values.get(name))
    raise ConditionError(f"the condition uses {_describe(node)}, which is not allowed; "
                         "use names, values, comparisons, and/or/not and parentheses")


def _build_compare(node: ast.Compare, names: set[str]) -> Callable[[Mapping[str, object]], object]:
    ops: list[str] = []
    for op in node.ops:
        if type(op) not in _COMPARE:
            raise ConditionError("use == and != to compare (not 'is')")
        ops.append(_COMPARE[type(op)])
    operands: list[Callable[[Mapping[str, object]], object]] = [_build(node.left, names)]
    for op, right in zip(ops, node.comparators, strict=True):
        if op in ("in", "not in"):
            if not isinstance(right, ast.List | ast.Tuple):
                raise ConditionError("'in' needs a list of values, like [\"es\", \"fr\"]")
            items = [_literal_or_fail(item) for item in right.elts]
            operands.append(lambda values, items=items: items)
        else:
            operands.append(_build(right, names))

    def run(values: Mapping[str, object]) -> bool:
        left = operands[0](values)
        for op, get_right in zip(ops, operands[1:], strict=True):
            right = get_right(values)
            if not _compare(op, left, right):
                return False
            left = right
        return True

    return run


def _dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise ConditionError(f"the condition uses {_describe(node)}, which is not allowed")
    parts.append(node.id)
    parts.reverse()
    if any(p.startswith("_") for p in parts):
        raise ConditionError(f"names may not start with an underscore: {'.'.join(parts)!r}")
    name = ".".join(parts)
    if parts[0] not in ROOTS:
        roots = ", ".join(ROOTS)
        raise ConditionError(f"{name!r} is not something a condition can look at; names start with {roots}")
    return name


def _literal(node: ast.AST) -> object:
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | float):
            return _normalize(value)
        return _MISSING
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _literal(node.operand)
        if isinstance(inner, Decimal):
            return -inner if isinstance(node.op, ast.USub) else inner
        return _MISSING
    if isinstance(node, ast.Name) and node.id.lower() in _LITERALS:
        return _LITERALS[node.id.lower()]
    return _MISSING


def _literal_or_fail(node: ast.AST) -> object:
    value = _literal(node)
    if value is _MISSING:
        raise ConditionError(f"a list after 'in' may hold only plain values, not {_describe(node)}")
    return value


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Call: "a function call", ast.Subscript: "[...] indexing", ast.BinOp: "arithmetic",
        ast.Lambda: "a lambda", ast.JoinedStr: "an f-string", ast.IfExp: "an if-expression",
        ast.Dict: "a dictionary", ast.Set: "a set", ast.List: "a list", ast.Tuple: "a tuple",
    }
    for kind, text in kinds.items():
        if isinstance(node, kind):
            return text
    return f"a {type(node).__name__} expression"


# --- evaluating ----------------------------------------------------------------------------

def _normalize(value: object) -> object:
    """Numbers compare as Decimal so 120 == 120.00 and floats never round surprisingly."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _coerce_pair(left: object, right: object) -> tuple[object, object]:
    """Custom fields often arrive as text: read "120" as a number or "2025-03-01" as a date
    when the other side is one."""
    for a, b, flip in ((left, right, False), (right, left, True)):
        if isinstance(b, str):
            converted: object = _MISSING
            if isinstance(a, Decimal):
                try:
                    converted = Decimal(b.strip())
                except InvalidOperation:
                    pass
            elif isinstance(a, dt.datetime):
                pass
            elif isinstance(a, dt.date):
                try:
                    converted = dt.date.fromisoformat(b.strip())
                except ValueError:
                    pass
            if converted is not _MISSING:
                return (converted, a) if flip else (a, converted)
    return left, right


def _equal(left: object, right: object) -> bool:
    left, right = _coerce_pair(_normalize(left), _normalize(right))
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    try:
        return bool(left == right)
    except Exception:  # a strange value from a custom field must not stop the workflow
        return False


def _compare(op: str, left: object, right: object) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in ("in", "not in"):
        found = any(_equal(left, item) for item in right)  # type: ignore[attr-defined]
        return found if op == "in" else not found
    left, right = _coerce_pair(_normalize(left), _normalize(right))
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return False
    try:
        if op == "<":
            return bool(left < right)  # type: ignore[operator]
        if op == "<=":
            return bool(left <= right)  # type: ignore[operator]
        if op == ">":
            return bool(left > right)  # type: ignore[operator]
        return bool(left >= right)  # type: ignore[operator]
    except TypeError:
        return False
