"""``check_expression``: parse, check and compile in one call; ``CheckedExpression`` holds the results."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table

from xrm.metadata.model import Entity
from xrm.rules.expr.checker import ERROR, Checker, expected_problem, lookup_paths
from xrm.rules.expr.errors import ExpressionError, problem
from xrm.rules.expr.functions import get_function
from xrm.rules.expr.nodes import Call, Node, Path, walk
from xrm.rules.expr.parser import parse
from xrm.rules.expr.pycompile import Evaluator, compile_python
from xrm.rules.expr.sqlcompile import SqlExpression, compile_sql
from xrm.rules.expr.types import accepts, normalise_expected


class CheckedExpression:
    """A parsed, type-checked expression with its Python compilation (SQL is compiled per call)."""

    def __init__(self, source: str, tree: Node, entity: Entity, *, rule_context: bool) -> None:
        self.source, self.tree, self.entity, self.rule_context = source, tree, entity, rule_context
        #: callable(record, context=None) -> value; see the package docstring for records and context.
        self.python: Evaluator = compile_python(tree)
        #: dotted lookup paths the record must hold as nested mappings, e.g. ('account', 'account.parent_account').
        self.lookups: tuple[str, ...] = lookup_paths(entity, tree)
        calls = [get_function(n.name) for n in walk(tree) if isinstance(n, Call)]
        self.uses_now = any(f is not None and f.uses_now for f in calls)
        self.uses_rule_functions = any(f is not None and f.rule_only for f in calls)

    @property
    def fields_used(self) -> frozenset[tuple[str, str]]:
        """``(entity, field)`` of every field the expression reads, lookups followed (``account.region`` gives both)."""
        return frozenset(
            pair for node in walk(self.tree) if isinstance(node, Path) for pair in zip(node.targets, node.names, strict=False)
        )

    @property
    def type(self) -> str:
        """The expression's type name: 'boolean', 'decimal', 'ref:account', ..."""
        return self.tree.type

    def __call__(self, record: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Any:
        return self.python(record, context)

    def sql(self, tables: Mapping[str, Table], *, now: datetime | None = None) -> SqlExpression:
        """The SQL form over ``tables`` (entity name → Table); ``now`` is the instant for now()/today()."""
        if self.uses_rule_functions:
            node = next(n for n in walk(self.tree) if isinstance(n, Call) and get_function(n.name).rule_only)
            raise ExpressionError([problem(self.source, node.line, node.column,
                                           f"{node.name}() only works in rule conditions, not in SQL filters")])
        return compile_sql(self.source, self.tree, tables, self.entity.name, now)

    def apply_filter(self, statement: Select[Any], tables: Mapping[str, Table], *,
                     now: datetime | None = None) -> Select[Any]:
        """``statement`` (selecting from the entity's table) joined as needed and filtered by this condition."""
        return self.sql(tables, now=now).apply_filter(statement)

    def __repr__(self) -> str:
        return f"CheckedExpression({self.source!r}, type={self.type!r})"


def check_expression(source: str, entity: Entity, entities: Mapping[str, Entity], *, expected: str | None = None,
                     rule_context: bool = False) -> CheckedExpression:
    """Parse and type-check ``source`` against ``entity``; raises ``ExpressionError`` listing every problem.

    ``expected`` demands a result type ('boolean' for conditions, a field's type
    for formulas and defaults; an integer is accepted where a decimal is expected).
    ``rule_context`` allows changed() and previous().
    """
    tree = parse(source)
    checker = Checker(source, entity, entities, rule_context=rule_context)
    checked = checker.check(tree)
    problems = list(checker.problems)
    if expected is not None and checked.type != ERROR:
        wanted = normalise_expected(expected)
        if not accepts(wanted, checked.type):
            problems.append(expected_problem(source, checked, wanted))
    if problems:
        raise ExpressionError(problems)
    return CheckedExpression(source, checked, entity, rule_context=rule_context)
