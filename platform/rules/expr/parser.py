"""Source text → AST: the lark grammar (loaded once), a Transformer, and friendly syntax errors."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from xrm.metadata.durations import parse_duration
from xrm.rules.expr.errors import ExpressionError, Problem, problem
from xrm.rules.expr.nodes import Binary, Call, IsEmpty, ListLiteral, Literal, Node, Path, Unary

#: Longer sources are refused before parsing; deeper nesting before transforming.
MAX_SOURCE_LENGTH = 20_000
MAX_DEPTH = 80

#: How terminals read in "expected ..." messages.
TERMINAL_NAMES = {
    "NAME": "a field or function name", "STRING": "a text 'in quotes'", "INT": "a number",
    "DECIMAL": "a decimal number", "DATE": "a date", "DATETIME": "a date and time",
    "DURATION": "a duration like 3d", "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "DOT": "'.'",
    "COMPARE": "a comparison (= != < <= > >=)", "MATCH": "like/contains/starts_with/ends_with",
    "PLUS": "'+'", "MINUS": "'-'", "MUL": "'*' or '/'", "OR": "'or'", "AND": "'and'", "NOT": "'not'",
    "IN": "'in'", "IS": "'is'", "EMPTY": "'empty'", "TRUE": "true", "FALSE": "false", "NULL": "null",
    "$END": "the end of the expression",
}

_ESCAPES = {"'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)


@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The LALR parser for the grammar file, built once per process."""
    text = resources.files("xrm.rules.expr").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=True)


class _Invalid(Exception):
    """A literal the grammar accepts but whose value is impossible (2024-02-30); carries its place."""

    def __init__(self, token: Token, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.token, self.message, self.hint = token, message, hint


def _place(token: Token) -> dict[str, int]:
    return {"line": token.line, "column": token.column}


def _unescape(token: Token) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u") and len(code) == 5:
            return chr(int(code[1:], 16))
        if code in _ESCAPES:
            return _ESCAPES[code]
        raise _Invalid(token, f"unknown escape '\\{code}' in text", hint="write \\\\ for a backslash, \\' for a quote")

    return _ESCAPE.sub(replace, token.value[1:-1])


@v_args(meta=True)
class ToAst(Transformer):
    """lark parse tree → frozen AST nodes; one method per grammar rule."""

    def logical(self, meta, children) -> Node:
        left, op, right = children
        return Binary(op.value, left, right, **_place(op))

    def binary(self, meta, children) -> Node:
        left, op, right = children
        name = "!=" if op.value == "<>" else op.value
        return Binary(name, left, right, **_place(op))

    def membership(self, meta, children) -> Node:
        left, op, right = children
        return Binary("in", left, right, **_place(op))

    def not_membership(self, meta, children) -> Node:
        left, op, _in, right = children
        return Binary("not in", left, right, **_place(op))

    def not_op(self, meta, children) -> Node:
        op, operand = children
        return Unary("not", operand, **_place(op))

    def negate(self, meta, children) -> Node:
        op, operand = children
        if isinstance(operand, Literal) and operand.kind in ("integer", "decimal", "duration"):
            return Literal(operand.kind, -operand.value, **_place(op))
        return Unary("-", operand, **_place(op))

    def is_empty(self, meta, children) -> Node:
        return IsEmpty(children[0], False, line=meta.line, column=meta.column)

    def is_not_empty(self, meta, children) -> Node:
        return IsEmpty(children[0], True, line=meta.line, column=meta.column)

    def list(self, meta, children) -> Node:
        return ListLiteral(tuple(c for c in children if c is not None), line=meta.line, column=meta.column)

    def call(self, meta, children) -> Node:
        name, *args = children
        return Call(name.value, tuple(a for a in args if a is not None), **_place(name))

    def path(self, meta, children) -> Node:
        places = tuple((t.line, t.column) for t in children)
        return Path(tuple(t.value for t in children), places, line=meta.line, column=meta.column)

    def string(self, meta, children) -> Node:
        (token,) = children
        return Literal("text", _unescape(token), **_place(token))

    def integer(self, meta, children) -> Node:
        (token,) = children
        return Literal("integer", int(token.value), **_place(token))

    def decimal(self, meta, children) -> Node:
        (token,) = children
        return Literal("decimal", Decimal(token.value), **_place(token))

    def duration(self, meta, children) -> Node:
        return Literal("duration", sum(parse_duration(t.value) for t in children), **_place(children[0]))

    def date(self, meta, children) -> Node:
        (token,) = children
        try:
            value = date.fromisoformat(token.value)
        except ValueError:
            raise _Invalid(token, f"{token.value} is not a valid date", hint="dates are written 2024-06-01") from None
        return Literal("date", value, **_place(token))

    def datetime(self, meta, children) -> Node:
        (token,) = children
        try:
            value = datetime.fromisoformat(token.value.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(token, f"{token.value} is not a valid date and time",
                           hint="write e.g. 2026-01-05T09:00+01:00") from None
        if value.tzinfo is None:
            raise _Invalid(token, f"{token.value} has no time zone", hint="add Z for UTC or an offset like +01:00")
        return Literal("datetime", value, **_place(token))

    def true(self, meta, children) -> Node:
        return Literal("boolean", True, **_place(children[0]))

    def false(self, meta, children) -> Node:
        return Literal("boolean", False, **_place(children[0]))

    def null(self, meta, children) -> Node:
        return Literal("null", None, **_place(children[0]))


def _describe(token: Token | None) -> str:
    if token is None or token.type == "$END":
        return "the end of the expression"
    return repr(token.value)


def _expected(names: set[str] | frozenset[str]) -> str | None:
    readable = sorted({TERMINAL_NAMES.get(n, n.lower()) for n in names if not n.startswith("__")})
    return ", ".join(readable) or None


def _syntax_problem(source: str, exc: UnexpectedInput) -> Problem:
    line, column = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else ""
        hint = "text goes in single quotes: 'like this'" if char == '"' else None
        return problem(source, line, column, f"unexpected character {char!r}",
                       expected=_expected(exc.allowed or set()), found=char, hint=hint)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = source.splitlines() or [""]
        return problem(source, len(lines), len(lines[-1]) + 1, "the expression ends too early",
                       expected=_expected(exc.expected), found="the end of the expression")
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    return problem(source, line, column, f"unexpected {_describe(token)}",
                   expected=_expected(exc.accepts or exc.expected), found=str(token.value))


def _depth(tree: Tree) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return deepest


def parse(source: str) -> Node:
    """Parse ``source`` into an AST; raises ``ExpressionError`` with the place of the first syntax error."""
    if not source.strip():
        raise ExpressionError([problem(source, 1, 1, "the expression is empty", expected="an expression")])
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError([problem(source, 1, 1, f"the expression is longer than {MAX_SOURCE_LENGTH} characters")])
    try:
        tree = grammar().parse(source)
    except UnexpectedInput as exc:
        raise ExpressionError([_syntax_problem(source, exc)]) from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError([problem(source, 1, 1, f"the expression is nested more than {MAX_DEPTH} levels deep",
                                       hint="split it or use 'in (...)' instead of long chains")])
    try:
        return ToAst().transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, _Invalid):
            raise ExpressionError([problem(source, inner.token.line, inner.token.column, inner.message,
                                           found=str(inner.token.value), hint=inner.hint)]) from None
        raise
