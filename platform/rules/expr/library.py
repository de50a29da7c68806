"""The built-in functions: date and time, text, math, null handling, and rule-only ``changed``/``previous``."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import Integer, String, case, func, literal
from sqlalchemy.sql import sqltypes

from xrm.rules.expr import runtime, sqlparts
from xrm.rules.expr.errors import ExpressionError
from xrm.rules.expr.functions import Function, PythonTarget, Report, SqlTarget, register_function
from xrm.rules.expr.nodes import Literal, Node, Path
from xrm.rules.expr.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    NULL,
    NUMERIC,
    ORDERED,
    TEXT,
    describe,
    unify,
)

_ERROR = "?"


def _want(node: Node, allowed: frozenset[str] | set[str], what: str, report: Report) -> bool:
    """Report unless ``node``'s type is one of ``allowed`` (null always fits; errors were reported already)."""
    if node.type in allowed or node.type in (NULL, _ERROR):
        return True
    report(node, f"expected {what}, found {describe(node.type)}", expected=what, found=describe(node.type))
    return False


def _common(args: Sequence[Node], report: Report, allowed: frozenset[str] | None = None) -> str | None:
    """The type every argument fits in, or None after reporting the first that does not."""
    result = NULL
    for arg in args:
        if arg.type == _ERROR:
            return None
        joined = unify(result, arg.type)
        if joined is None or (allowed is not None and joined not in allowed | {NULL}):
            report(arg, f"this argument is {describe(arg.type)}, the others are {describe(result)}",
                   expected=describe(result), found=describe(arg.type))
            return None
        result = joined
    return result


class _Fixed(Function):
    """A function with fixed parameter types: ``params`` per position, ``returns`` its type."""

    params: ClassVar[tuple[frozenset[str], ...]]
    returns: ClassVar[str]

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        ok = all(_want(a, p, " or ".join(sorted(p)), report) for a, p in zip(args, self.params, strict=False))
        return self.returns if ok else None


@register_function
class Today(_Fixed):
    name, signature, doc = "today", "today()", "The current date (UTC) at the evaluation instant."
    min_args = max_args = 0
    params, returns, uses_now, strict = (), DATE, True, False

    def nullable(self, args: Sequence[Node]) -> bool:
        return False

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        return ast.Call(py.const(runtime.today_of), [py.context], [])

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return sq.today()


@register_function
class Now(Today):
    name, signature, doc = "now", "now()", "The evaluation instant (a datetime with time zone)."
    returns = DATETIME

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        return ast.Call(py.const(runtime.now_of), [py.context], [])

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return sq.now()


@register_function
class DaysBetween(_Fixed):
    name, signature = "days_between", "days_between(start_date, end_date)"
    doc = "Whole days from the first date to the second (negative when the second is earlier)."
    min_args = max_args = 2
    params, returns, runtime = (frozenset({DATE}), frozenset({DATE})), INTEGER, staticmethod(runtime.days_between)

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return sqlparts.days_between(*args, type_=Integer())


class _TextFunction(_Fixed):
    min_args = max_args = 1
    params, returns = (frozenset({TEXT}),), TEXT


@register_function
class Lower(_TextFunction):
    name, signature, doc = "lower", "lower(text)", "The text with ASCII letters in lower case."
    runtime = staticmethod(runtime.ascii_lower)

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        # text.lower() when the text is ASCII (the common case, no helper call); the helper otherwise
        text = args[0]
        return ast.IfExp(ast.Call(ast.Attribute(text, "isascii", ast.Load()), [], []),
                         ast.Call(ast.Attribute(text, "lower", ast.Load()), [], []),
                         ast.Call(py.const(runtime.ascii_lower), [text], []))

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return sqlparts.ascii_lower(args[0], type_=String())


@register_function
class Upper(_TextFunction):
    name, signature, doc = "upper", "upper(text)", "The text with ASCII letters in upper case."
    runtime = staticmethod(runtime.ascii_upper)

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return sqlparts.ascii_upper(args[0], type_=String())


@register_function
class Trim(_TextFunction):
    name, signature, doc = "trim", "trim(text)", "The text without leading and trailing spaces."

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        return ast.Call(ast.Attribute(args[0], "strip", ast.Load()), [ast.Constant(" ")], [])

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return func.trim(args[0], type_=String())


@register_function
class Len(_TextFunction):
    name, signature, doc = "len", "len(text)", "The number of characters in the text."
    returns = INTEGER
    runtime = staticmethod(len)

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return func.length(args[0], type_=Integer())


@register_function
class Concat(Function):
    name, signature = "concat", "concat(text, text, ...)"
    doc = "The texts joined together; an empty (null) text counts as ''."
    min_args, max_args, strict = 1, None, False
    runtime = staticmethod(runtime.concat)

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        return TEXT if all([_want(a, frozenset({TEXT}), "text", report) for a in args]) else None

    def nullable(self, args: Sequence[Node]) -> bool:
        return False

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        parts = [func.coalesce(a, literal("", String()), type_=String()) for a in args]
        result = parts[0]
        for part in parts[1:]:
            result = result.concat(part)
        return result


@register_function
class Round(Function):
    name, signature = "round", "round(number, places?)"
    doc = "The number rounded half away from zero to 0-10 decimal places (default 0)."
    min_args, max_args = 1, 2

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        if not _want(args[0], NUMERIC, "a number", report):
            return None
        if len(args) == 2:
            places = args[1]
            if not (isinstance(places, Literal) and places.kind == INTEGER and 0 <= places.value <= 10):
                report(places, "the number of decimal places must be a whole number from 0 to 10",
                       expected="0 to 10", found=str(getattr(places, "value", describe(places.type))))
                return None
        return args[0].type

    def result_scale(self, args: Sequence[Node]) -> int | None:
        return args[1].value if len(args) == 2 else 0  # type: ignore[attr-defined]

    def nullable(self, args: Sequence[Node]) -> bool:
        return args[0].nullable

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        if nodes[0].type == INTEGER:
            return args[0]
        places = nodes[1].value if len(nodes) == 2 else 0  # type: ignore[attr-defined]
        return ast.Call(py.const(runtime.round_decimal), [args[0], ast.Constant(places)], [])

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        if nodes[0].type == INTEGER:
            return args[0]
        places = nodes[1].value if len(nodes) == 2 else 0  # type: ignore[attr-defined]
        return sqlparts.round_to(args[0], literal(places, Integer()), type_=sqltypes.Numeric(asdecimal=True))


@register_function
class Abs(Function):
    name, signature, doc = "abs", "abs(number)", "The number (or duration) without its sign."
    min_args = max_args = 1
    runtime = staticmethod(abs)

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        return args[0].type if _want(args[0], NUMERIC | {DURATION}, "a number or duration", report) else None

    def result_scale(self, args: Sequence[Node]) -> int | None:
        return args[0].scale

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return func.abs(args[0], type_=args[0].type)


class _Extreme(Function):
    min_args, max_args, strict = 2, None, False

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        return _common(args, report, ORDERED - {TEXT})

    def nullable(self, args: Sequence[Node]) -> bool:
        return all(a.nullable for a in args)

    def result_scale(self, args: Sequence[Node]) -> int | None:
        scales = [a.scale for a in args if a.type == DECIMAL]
        return max(scales) if scales and None not in scales else None


@register_function
class Min(_Extreme):
    name, signature, doc = "min", "min(a, b, ...)", "The smallest argument that is not empty."
    runtime = staticmethod(runtime.least)

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return sqlparts.least(*args, type_=args[0].type)


@register_function
class Max(_Extreme):
    name, signature, doc = "max", "max(a, b, ...)", "The largest argument that is not empty."
    runtime = staticmethod(runtime.greatest)

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return sqlparts.greatest(*args, type_=args[0].type)


@register_function
class Coalesce(_Extreme):
    name, signature, doc = "coalesce", "coalesce(a, b, ...)", "The first argument that is not empty."
    runtime = staticmethod(runtime.coalesce)

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        return _common(args, report)

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        if len(args) != 2:
            return super().python(args, nodes, py)
        first = py.temp()  # a if a is not None else b, evaluating a once
        test = ast.Compare(ast.NamedExpr(ast.Name(first, ast.Store()), args[0]), [ast.IsNot()], [ast.Constant(None)])
        return ast.IfExp(test, ast.Name(first, ast.Load()), args[1])

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        return func.coalesce(*args, type_=args[0].type)


@register_function
class If(Function):
    name, signature = "if", "if(condition, then, else)"
    doc = "The second argument when the condition holds, else the third (an empty condition does not hold)."
    min_args = max_args = 3
    strict = False

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        if not _want(args[0], frozenset({BOOLEAN}), "a condition (boolean)", report):
            return None
        return _common(args[1:], report)

    def nullable(self, args: Sequence[Node]) -> bool:
        return args[1].nullable or args[2].nullable

    def result_scale(self, args: Sequence[Node]) -> int | None:
        scales = [a.scale for a in args[1:] if a.type == DECIMAL]
        return max(scales) if scales and None not in scales else None

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        return ast.IfExp(py.cond(nodes[0]), args[1], args[2])

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        then, otherwise = args[1], args[2]
        return case((sq.cond(nodes[0]), then), else_=otherwise)


class _RuleFunction(Function):
    """Functions over the change being processed; rule conditions only, never SQL."""

    min_args = max_args = 1
    rule_only, strict = True, False

    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        target = args[0]
        if not (isinstance(target, Path) and len(target.names) == 1):
            report(target, f"{self.name}() takes a field of the record itself", expected="a field name",
                   hint=f"write e.g. {self.name}(status)")
            return None
        return self.returns_for(target)

    def returns_for(self, target: Path) -> str:
        return BOOLEAN

    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        raise ExpressionError(sq.problem(nodes[0], f"{self.name}() only works in rule conditions, not in SQL filters"))


@register_function
class Changed(_RuleFunction):
    name, signature = "changed", "changed(field)"
    doc = "True when the field's value differs from before the change (on create: when it has a value)."

    def nullable(self, args: Sequence[Node]) -> bool:
        return False

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        name = ast.Constant(nodes[0].names[0])  # type: ignore[attr-defined]
        return ast.Call(py.const(runtime.changed), [py.record, py.context, name], [])


@register_function
class Previous(_RuleFunction):
    name, signature = "previous", "previous(field)"
    doc = "The field's value before the change being processed (empty on create)."

    def returns_for(self, target: Path) -> str:
        return target.type

    def result_scale(self, args: Sequence[Node]) -> int | None:
        return args[0].scale

    def nullable(self, args: Sequence[Node]) -> bool:
        return True

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        name = ast.Constant(nodes[0].names[0])  # type: ignore[attr-defined]
        return ast.Call(py.const(runtime.previous), [py.context, name], [])

