"""Checked tree → SQLAlchemy Core: a WHERE clause (or a value), plus LEFT OUTER JOINs for lookup paths.

Names resolve only through metadata: a path's fields were checked against
entities, and their columns are taken as ``table.c[name]`` from the ``Table``
objects built from that metadata.  Every constant is a typed bound parameter.

Every boolean *value* compiles to SQL that is never NULL (a comparison with a
NULL operand becomes FALSE through COALESCE), so NOT and OR behave as in
Python.  The WHERE form (``where``) leaves the comparisons reached only
through AND/OR bare, because a WHERE clause drops NULL rows like FALSE ones:
that keeps ``region = 'west'`` sargable, so the declared indexes serve it.  A lookup path ``account.parent_account.industry`` joins one alias
per distinct prefix: ``lead LEFT OUTER JOIN account AS a1 ON lead.account =
a1.id LEFT OUTER JOIN account AS a2 ON a1.parent_account = a2.id``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from xrm.metadata.sqltypes import UTCDateTime
from xrm.rules.expr import sqlparts
from xrm.rules.expr.errors import Problem, problem
from xrm.rules.expr.functions import get_function
from xrm.rules.expr.nodes import Binary, Call, IsEmpty, ListLiteral, Literal, Node, Path, Unary
from xrm.rules.expr.runtime import ascii_lower
from xrm.rules.expr.types import BOOLEAN, DATE, DATETIME, DECIMAL, DURATION, INTEGER, LIST, NULL, TEXT

#: SQL types of bound constants, by expression type.
SQL_TYPES: dict[str, Callable[[], Any]] = {
    TEXT: String, INTEGER: BigInteger, DECIMAL: lambda: Numeric(38, 16, asdecimal=True), BOOLEAN: Boolean,
    DATE: Date, DATETIME: UTCDateTime, DURATION: BigInteger,
}


def sql_type(type_name: str) -> Any:
    """The SQLAlchemy type for values of an expression type (references are integer ids)."""
    factory = SQL_TYPES.get(type_name)
    return factory() if factory is not None else BigInteger()


def escape_like(text: str) -> str:
    r"""Make ``%``, ``_`` and ``\`` in ``text`` match literally in a LIKE ... ESCAPE '\' pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: Predicates that are false whenever an operand is null: in a WHERE clause, SQL's NULL says the same.
_NULL_IS_FALSE_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "contains", "starts_with",
                                "ends_with"})


@dataclass(frozen=True)
class SqlExpression:
    """A compiled expression: ``where`` (for a WHERE clause only), ``value`` and the joins both need.

    ``where`` may be NULL on rows where the condition is false: use it as a
    WHERE (or AND it with other WHERE conditions), never under a NOT or as a
    value; ``value`` is never NULL for conditions.
    """

    value: ColumnElement[Any]
    where: ColumnElement[bool]
    root: Table
    joins: tuple[tuple[FromClause, ColumnElement[bool]], ...]

    def from_clause(self) -> FromClause:
        """The root table with every lookup join applied."""
        joined: FromClause = self.root
        for alias, on in self.joins:
            joined = joined.outerjoin(alias, on)
        return joined

    def apply_filter(self, statement: Select[Any]) -> Select[Any]:
        """``statement`` selecting from the joined tables and filtered by the expression."""
        if self.joins:
            statement = statement.select_from(self.from_clause())
        return statement.where(self.where)


class SqlCompiler:
    """Compiles one checked tree against tables built from metadata."""

    def __init__(self, source: str, tables: Mapping[str, Table], root: str, now: datetime | None) -> None:
        self.source, self.tables = source, tables
        self.root = tables[root]
        self._now = now if now is not None else datetime.now(UTC)
        self._now_param: Any = None
        self._today_param: Any = None
        self._aliases: dict[tuple[str, ...], FromClause] = {}
        self.joins: list[tuple[FromClause, ColumnElement[bool]]] = []
        #: The comparison ``filter_cond`` lets through without its never-NULL wrapper.
        self._bare: Node | None = None
        self._emitters: dict[type[Node], Callable[[Any], Any]] = {
            Literal: self._literal, ListLiteral: self._list, Path: self._path, Unary: self._unary,
            Binary: self._binary, IsEmpty: self._is_empty, Call: self._call,
        }

    # -- services for functions -----------------------------------------------------------------------------

    def emit(self, node: Node) -> Any:
        return self._emitters[type(node)](node)

    def filter_cond(self, node: Node) -> ColumnElement[bool]:
        """SQL for a WHERE clause: TRUE where the condition holds, FALSE *or NULL* where it does not.

        A WHERE clause drops NULL rows just as FALSE ones, and AND/OR keep that
        equivalence, so comparisons reached only through AND/OR go to the
        database bare (``region = 'west'``) instead of wrapped in COALESCE: the
        planner can then use an index on the column.  Below a NOT, and for
        values, ``cond`` keeps the strict TRUE/FALSE form.
        """
        if isinstance(node, Binary) and node.op in ("and", "or"):
            combine = and_ if node.op == "and" else or_
            return combine(self.filter_cond(node.left), self.filter_cond(node.right))
        if isinstance(node, Binary) and node.op in _NULL_IS_FALSE_OPS:
            self._bare = node
            try:
                return self.emit(node)
            finally:
                self._bare = None
        if isinstance(node, Path) and node.type == BOOLEAN:
            return self.emit(node)
        return self.cond(node)

    def cond(self, node: Node) -> ColumnElement[bool]:
        """SQL that is TRUE or FALSE, never NULL."""
        code = self.emit(node)
        if node.type == NULL:
            return false()
        return func.coalesce(code, false(), type_=Boolean()) if node.nullable else code

    def now(self) -> Any:
        if self._now_param is None:
            self._now_param = literal(self._now, UTCDateTime())
        return self._now_param

    def today(self) -> Any:
        if self._today_param is None:
            self._today_param = literal(self._now.astimezone(UTC).date(), Date())
        return self._today_param

    def problem(self, node: Node, message: str) -> list[Problem]:
        return [problem(self.source, node.line, node.column, message)]

    # -- nodes ----------------------------------------------------------------------------------------------

    def _literal(self, node: Literal) -> Any:
        if node.kind == NULL:
            return type_coerce(literal(None), sql_type(node.type))
        return literal(node.value, sql_type(node.kind))

    def _list(self, node: ListLiteral) -> Any:
        return [item.value for item in node.items]  # type: ignore[attr-defined]

    def _path(self, node: Path) -> Any:
        source: FromClause = self.root
        for end in range(1, len(node.names)):
            prefix = node.names[:end]
            if prefix not in self._aliases:
                target = self.tables[node.targets[end]].alias()
                self.joins.append((target, source.c[node.names[end - 1]] == target.c["id"]))
                self._aliases[prefix] = target
            source = self._aliases[prefix]
        return source.c[node.names[-1]]

    def _unary(self, node: Unary) -> Any:
        if node.op == "not":
            return not_(self.cond(node.operand))
        return -self.emit(node.operand)

    def _binary(self, node: Binary) -> Any:
        op = node.op
        if op in ("and", "or"):
            return (and_ if op == "and" else or_)(self.cond(node.left), self.cond(node.right))
        if op in ("in", "not in"):
            return self._membership(node)
        if op in ("like", "contains", "starts_with", "ends_with"):
            return self._match(node)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return self._comparison(node)
        return self._arithmetic(node)

    def _never_null(self, node: Node, expression: Any, *operands: Node) -> Any:
        """A predicate over ``operands`` that is FALSE, not NULL, when one of them is null."""
        if node is not self._bare and any(o.nullable for o in operands):
            return func.coalesce(expression, false(), type_=Boolean())
        return expression

    def _comparison(self, node: Binary) -> Any:
        left, right = self.emit(node.left), self.emit(node.right)
        if TEXT in (node.left.type, node.right.type) and node.op not in ("=", "!="):
            left, right = sqlparts.text_order(left, type_=String()), sqlparts.text_order(right, type_=String())
        compare = {
            "=": lambda: left == right, "!=": lambda: left != right, "<": lambda: left < right,
            "<=": lambda: left <= right, ">": lambda: left > right, ">=": lambda: left >= right,
        }[node.op]()
        return self._never_null(node, compare, node.left, node.right)

    def _membership(self, node: Binary) -> Any:
        left = self.emit(node.left)
        negate = node.op == "not in"
        if isinstance(node.right, ListLiteral):
            values = self._list(node.right)
            test = left.not_in(values) if negate else left.in_(values)
            return self._never_null(node, test, node.left)
        has = sqlparts.list_has(self.emit(node.right), left, type_=Boolean())
        if negate:
            has = and_(left.is_not(None), not_(has))
        return has if negate else and_(left.is_not(None), has) if node.left.nullable else has

    def _match(self, node: Binary) -> Any:
        left = self.emit(node.left)
        if node.op == "contains" and node.left.type == LIST:
            value = self.emit(node.right)
            has = sqlparts.list_has(left, value, type_=Boolean())
            return and_(value.is_not(None), has) if node.right.nullable else has
        if node.op == "like":
            pattern = literal(node.right.value, String())  # type: ignore[attr-defined]
            return self._never_null(node, sqlparts.like_ascii(left, pattern, type_=Boolean()), node.left)
        if isinstance(node.right, Literal):
            needle = escape_like(ascii_lower(node.right.value))
            text = {"contains": f"%{needle}%", "starts_with": f"{needle}%", "ends_with": f"%{needle}"}[node.op]
            pattern: Any = literal(text, String())
        else:
            escaped = func.replace(func.replace(func.replace(self.emit(node.right), "\\", "\\\\"), "%", "\\%"),
                                   "_", "\\_")
            wildcard = literal("%", String())
            pattern = {"contains": lambda: wildcard.concat(escaped).concat(wildcard),
                       "starts_with": lambda: escaped.concat(wildcard),
                       "ends_with": lambda: wildcard.concat(escaped)}[node.op]()
        return self._never_null(node, sqlparts.like_ascii(left, pattern, type_=Boolean()), node.left, node.right)

    def _arithmetic(self, node: Binary) -> Any:
        left, right = self.emit(node.left), self.emit(node.right)
        if node.op == "/":
            return sqlparts.divide(left, right, type_=Numeric(38, 10, asdecimal=True))
        if node.left.type == DATETIME and node.right.type == DATETIME:
            return sqlparts.seconds_between(left, right, type_=BigInteger())
        if node.type in (DATE, DATETIME):
            moment, span = (left, right) if node.left.type in (DATE, DATETIME) else (right, left)
            if node.op == "-":
                span = -span
            if node.type == DATE:
                return sqlparts.add_days(moment, span, type_=Date())
            return sqlparts.add_seconds(moment, span, type_=UTCDateTime())
        result = {"+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right}[node.op]()
        # type_coerce renders no parentheses of its own: without self_group(), "(a + b) * c" would come out as
        # "a + b * c" once the sum is coerced (SQLAlchemy's documented advice for type_coerce)
        if node.type == DECIMAL:
            result = type_coerce(result, Numeric(38, 16, asdecimal=True)).self_group()
            if node.scale is not None:
                return sqlparts.exact(result, literal(node.scale, Integer()), type_=Numeric(38, 16, asdecimal=True))
            return result
        return type_coerce(result, sql_type(node.type)).self_group()

    def _is_empty(self, node: IsEmpty) -> Any:
        operand = node.operand
        code = self.emit(operand)
        if operand.type == LIST:
            test = sqlparts.list_length(code, type_=Integer()) == 0
        elif operand.type == NULL:
            test = true()
        elif operand.type == TEXT:
            test = or_(code.is_(None), code == "") if operand.nullable else code == ""
        else:
            test = code.is_(None) if operand.nullable else false()
        return not_(test) if node.negated else test

    def _call(self, node: Call) -> Any:
        function = get_function(node.name)
        assert function is not None, "the checker resolved every function"
        return function.sql([self.emit(a) for a in node.args], node.args, self)


def compile_sql(source: str, tree: Node, tables: Mapping[str, Table], root: str,
                now: datetime | None = None) -> SqlExpression:
    """The SQL form of a checked tree over ``tables`` (entity name → Table), rooted at entity ``root``."""
    compiler = SqlCompiler(source, tables, root, now)
    value = compiler.emit(tree)
    if tree.type == BOOLEAN:
        strict = compiler.cond(tree)
        value = type_coerce(strict, Boolean()) if not tree.nullable else value
        where = compiler.filter_cond(tree)
    else:
        where = case((value.is_not(None), true()), else_=false()) if tree.type != NULL else false()
        value = type_coerce(value, sql_type(tree.type)) if tree.type not in (NULL, LIST) else value
    return SqlExpression(value=value, where=where, root=compiler.root, joins=tuple(compiler.joins))
