"""The type checker: resolves field paths through metadata, types every node, collects every problem.

The result is a copy of the tree with ``type``, ``nullable`` and ``scale`` set on
every node and ``targets`` on every path; both compilers work from it.  A node
whose type could not be found gets the type ``"?"`` so one mistake is
reported once, not again by every operator above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from xrm.metadata.model import Entity
from xrm.metadata.suggest import did_you_mean
from xrm.rules.expr import library  # noqa: F401  (registers the built-in functions)
from xrm.rules.expr.errors import Problem, problem
from xrm.rules.expr.functions import functions, get_function
from xrm.rules.expr.nodes import (
    ARITHMETIC,
    COMPARISONS,
    LOGICAL,
    MATCHES,
    MEMBERSHIP,
    Binary,
    Call,
    IsEmpty,
    ListLiteral,
    Literal,
    Node,
    Path,
    Unary,
    start,
    walk,
)
from xrm.rules.expr.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DIVISION_SCALE,
    DURATION,
    INTEGER,
    LIST,
    NOT_NULL_SYSTEM,
    NULL,
    NUMERIC,
    ORDERED,
    SYSTEM_COLUMNS,
    TEXT,
    USER,
    column_type,
    describe,
    field_scale,
    ref_target,
    unify,
)

ERROR = "?"
INT64 = 2**63 - 1

#: (operator, left type, right type) → result type.  Integer widens to decimal before lookup.
ARITHMETIC_RULES: dict[tuple[str, str, str], str] = {
    **{(op, t, t): t for op in "+-*" for t in (INTEGER, DECIMAL)},
    ("/", INTEGER, INTEGER): DECIMAL, ("/", DECIMAL, DECIMAL): DECIMAL,
    ("+", DATE, DURATION): DATE, ("+", DURATION, DATE): DATE, ("-", DATE, DURATION): DATE,
    ("+", DATETIME, DURATION): DATETIME, ("+", DURATION, DATETIME): DATETIME, ("-", DATETIME, DURATION): DATETIME,
    ("+", DURATION, DURATION): DURATION, ("-", DURATION, DURATION): DURATION,
    ("-", DATETIME, DATETIME): DURATION,
    ("*", DURATION, INTEGER): DURATION, ("*", INTEGER, DURATION): DURATION,
}
ARITHMETIC_HINTS = {
    (TEXT, TEXT): "join texts with concat(a, b)",
    (DATE, DATE): "use days_between(a, b) for the days between two dates",
    (DATE, INTEGER): "add a duration such as 3d, not a number",
    (DATETIME, INTEGER): "add a duration such as 4h, not a number",
}


class Checker:
    """Types one expression against one entity; ``problems`` collects everything found."""

    def __init__(self, source: str, entity: Entity, entities: Mapping[str, Entity], *, rule_context: bool) -> None:
        self.source, self.entity, self.entities, self.rule_context = source, entity, entities, rule_context
        self.problems: list[Problem] = []
        self._rules: dict[type[Node], Callable[[Node], Node]] = {
            Literal: self._literal, ListLiteral: self._stray_list, Path: self._path, Unary: self._unary,
            Binary: self._binary, IsEmpty: self._is_empty, Call: self._call,
        }

    def report(self, node: Node, message: str, *, expected: str | None = None, found: str | None = None,
               hint: str | None = None, at: tuple[int, int] | None = None) -> None:
        line, column = at or (node.line, node.column)
        self.problems.append(problem(self.source, line, column, message, expected=expected, found=found, hint=hint))

    def check(self, node: Node) -> Node:
        return self._rules[type(node)](node)

    # -- leaves ---------------------------------------------------------------------------------------------

    def _literal(self, node: Literal) -> Node:
        if node.kind in (INTEGER, DURATION) and abs(node.value) > INT64:
            self.report(node, "this number is too large", expected="at most 19 digits", found=str(node.value))
            return replace(node, type=ERROR)
        scale = -node.value.as_tuple().exponent if node.kind == DECIMAL else (0 if node.kind == INTEGER else None)
        return replace(node, type=node.kind, nullable=node.kind == NULL, scale=scale)

    def _stray_list(self, node: ListLiteral) -> Node:
        self.report(node, "a list (...) can only follow 'in' or 'not in'", hint="e.g. status in ('new', 'open')")
        return replace(node, type=ERROR)

    def _path(self, node: Path) -> Node:
        entity, targets = self.entity, []
        places = node.places or ((node.line, node.column),) * len(node.names)
        for index, (name, place) in enumerate(zip(node.names, places, strict=True)):
            found = column_type(entity, name)
            if found is None:
                self._unknown_field(node, name, entity, place)
                return replace(node, type=ERROR)
            targets.append(entity.name)
            if index == len(node.names) - 1:
                field = entity.field(name)
                nullable = len(node.names) > 1 or name not in NOT_NULL_SYSTEM
                scale = field_scale(field) if field is not None and found == DECIMAL else None
                return replace(node, type=found, nullable=nullable, scale=scale, targets=tuple(targets))
            target = ref_target(found)
            following = node.names[index + 1]
            if found == USER:
                self.report(node, f"'{name}' is a user; fields of users cannot be read in expressions yet",
                            at=places[index + 1], found=following)
                return replace(node, type=ERROR)
            if target is None:
                self.report(node, f"'{name}' is not a lookup, so '.{following}' cannot follow it",
                            at=places[index + 1], expected="a lookup field before '.'", found=describe(found))
                return replace(node, type=ERROR)
            if target not in self.entities:
                self.report(node, f"lookup '{name}' points to '{target}', which is not a known entity",
                            at=place, hint=did_you_mean(target, self.entities))
                return replace(node, type=ERROR)
            entity = self.entities[target]
        raise AssertionError("unreachable: a path has at least one name")

    def _unknown_field(self, node: Path, name: str, entity: Entity, place: tuple[int, int]) -> None:
        candidates = [*entity.field_names, *SYSTEM_COLUMNS]
        hint = did_you_mean(name, candidates)
        function = get_function(name)
        if hint is None and function is not None:
            hint = f"call the function with parentheses: {function.signature}"
        self.report(node, f"unknown field '{name}' on {entity.name}", at=place, found=name, hint=hint)

    # -- operators ------------------------------------------------------------------------------------------

    def _unary(self, node: Unary) -> Node:
        operand = self.check(node.operand)
        if node.op == "not":
            self._expect(operand, {BOOLEAN}, "a condition (boolean)")
            return replace(node, operand=operand, type=BOOLEAN, nullable=False)
        if not self._expect(operand, NUMERIC | {DURATION}, "a number or duration"):
            return replace(node, operand=operand, type=ERROR)
        return replace(node, operand=operand, type=operand.type, nullable=operand.nullable, scale=operand.scale)

    def _expect(self, node: Node, allowed: frozenset[str] | set[str], what: str) -> bool:
        if node.type in allowed or node.type in (NULL, ERROR):
            return node.type != ERROR
        self.report(node, f"expected {what}, found {describe(node.type)}", expected=what, found=describe(node.type))
        return False

    def _binary(self, node: Binary) -> Node:
        if node.op in MEMBERSHIP:
            return self._membership(node)
        left, right = self.check(node.left), self.check(node.right)
        typed = replace(node, left=left, right=right)
        if node.op in LOGICAL:
            self._expect(left, {BOOLEAN}, "a condition (boolean)")
            self._expect(right, {BOOLEAN}, "a condition (boolean)")
            return replace(typed, type=BOOLEAN, nullable=False)
        if ERROR in (left.type, right.type):
            return replace(typed, type=BOOLEAN if node.op not in ARITHMETIC else ERROR, nullable=False)
        if node.op in COMPARISONS:
            return self._comparison(typed)
        if node.op in MATCHES:
            return self._match(typed)
        return self._arithmetic(typed)

    def _comparison(self, node: Binary) -> Node:
        left, right = node.left, node.right
        result = replace(node, type=BOOLEAN, nullable=False)
        null_side = right if right.type == NULL else left if left.type == NULL else None
        if null_side is not None:
            other = left if null_side is right else right
            negation = "not " if node.op == "!=" else ""
            self.report(null_side, "a comparison with null is never true", found="null",
                        hint=f"write '{self._text(other)} is {negation}empty'")
            return result
        joined = unify(left.type, right.type)
        if joined is None or joined == LIST:
            self.report(right, f"cannot compare {describe(left.type)} with {describe(right.type)}",
                        expected=describe(left.type), found=describe(right.type), hint=self._compare_hint(left, right))
            return result
        if node.op not in ("=", "!=") and joined not in ORDERED:
            self.report(node, f"'{node.op}' does not apply to {describe(joined)}; only = and != do",
                        found=describe(joined))
            return result
        self._check_options(left, (right,)) if node.op in ("=", "!=") else None
        self._check_options(right, (left,)) if node.op in ("=", "!=") else None
        return result

    @staticmethod
    def _compare_hint(left: Node, right: Node) -> str | None:
        types = {left.type, right.type}
        if types == {DATE, DATETIME}:
            return "compare dates with dates (today()) and datetimes with datetimes (now())"
        if right.type == TEXT and left.type in NUMERIC | {DATE, DATETIME, DURATION}:
            return f"write the {describe(left.type)} without quotes"
        if LIST in types:
            return "test membership with: 'value' in tags, or tags contains 'value'"
        return None

    def _membership(self, node: Binary) -> Node:
        left = self.check(node.left)
        right = node.right
        if isinstance(right, ListLiteral) or (isinstance(right, Literal) and right.kind != NULL):
            items = right.items if isinstance(right, ListLiteral) else (right,)
            checked_items = tuple(self._list_item(item, left) for item in items)
            right = replace(right, items=checked_items, type=LIST, nullable=False) if isinstance(right, ListLiteral) \
                else replace(ListLiteral(checked_items, line=right.line, column=right.column), type=LIST, nullable=False)
            self._check_options(left, checked_items)
        else:
            right = self.check(right)
            if right.type not in (LIST, ERROR):
                self.report(right, f"'{node.op}' needs a list, found {describe(right.type)}",
                            expected="a list like ('a', 'b') or a multi-select field", found=describe(right.type))
            elif right.type == LIST:
                self._expect(left, {TEXT}, "text (multi-select values are text)")
        return replace(node, left=left, right=right, type=BOOLEAN, nullable=False)

    def _list_item(self, item: Node, left: Node) -> Node:
        if not isinstance(item, Literal) or item.kind == NULL:
            self.report(item, "lists may only hold constants such as 'west' or 42 (not fields or null)",
                        found=self._text(item))
            return replace(item, type=ERROR)
        checked = self.check(item)
        if left.type not in (ERROR, NULL) and checked.type != ERROR and unify(left.type, checked.type) in (None, LIST):
            self.report(item, f"cannot compare {describe(left.type)} with {describe(checked.type)}",
                        expected=describe(left.type), found=describe(checked.type))
        return checked

    def _check_options(self, field_side: Node, values: tuple[Node, ...]) -> None:
        """A text constant compared with a picklist must be one of its stored values."""
        if not isinstance(field_side, Path) or field_side.type != TEXT or not field_side.targets:
            return
        field = self.entities.get(field_side.targets[-1], self.entity).field(field_side.names[-1])
        if field is None or field.type != "picklist":
            return
        allowed = [o.value for o in field.options]
        for value in values:
            if isinstance(value, Literal) and value.kind == TEXT and value.value not in allowed:
                self.report(value, f"'{value.value}' is not a value of picklist '{field_side.dotted}'",
                            expected=", ".join(allowed), found=value.value, hint=did_you_mean(value.value, allowed))

    def _match(self, node: Binary) -> Node:
        left, right = node.left, node.right
        result = replace(node, type=BOOLEAN, nullable=False)
        if node.op == "contains" and left.type == LIST:
            self._expect(right, {TEXT}, "text (multi-select values are text)")
            return result
        if self._expect(left, {TEXT}, "text") and self._expect(right, {TEXT}, "text") and node.op == "like":
            if not (isinstance(right, Literal) and right.kind == TEXT):
                self.report(right, "like needs a pattern in quotes", expected="a pattern such as 'acme%'",
                            hint="use contains, starts_with or ends_with to match another field")
            elif (len(right.value) - len(right.value.rstrip("\\"))) % 2:
                self.report(right, "a like pattern cannot end with a single backslash",
                            hint="write \\\\\\\\ to match a backslash")
        return result

    def _arithmetic(self, node: Binary) -> Node:
        left, right = node.left, node.right
        key_types = [DECIMAL if t == INTEGER and {left.type, right.type} == NUMERIC else t
                     for t in (left.type, right.type)]
        result_type = ARITHMETIC_RULES.get((node.op, *key_types)) if NULL not in key_types else None
        if NULL in key_types:
            other = right.type if left.type == NULL else left.type
            result_type = other if other in NUMERIC | {DURATION, DATE, DATETIME} else None
        if result_type is None:
            self.report(node, f"cannot apply '{node.op}' to {describe(left.type)} and {describe(right.type)}",
                        found=f"{describe(left.type)} {node.op} {describe(right.type)}",
                        hint=ARITHMETIC_HINTS.get((left.type, right.type)))
            return replace(node, type=ERROR)
        nullable = left.nullable or right.nullable or node.op == "/"
        return replace(node, type=result_type, nullable=nullable, scale=self._scale(node.op, left, right, result_type))

    @staticmethod
    def _scale(op: str, left: Node, right: Node, result_type: str) -> int | None:
        if result_type != DECIMAL:
            return None
        if op == "/":
            return DIVISION_SCALE
        if left.scale is None or right.scale is None:
            return None
        return left.scale + right.scale if op == "*" else max(left.scale, right.scale)

    def _is_empty(self, node: IsEmpty) -> Node:
        return replace(node, operand=self.check(node.operand), type=BOOLEAN, nullable=False)

    def _call(self, node: Call) -> Node:
        function = get_function(node.name)
        args = tuple(self.check(a) for a in node.args)
        typed = replace(node, args=args)
        if function is None:
            self.report(node, f"unknown function '{node.name}'", found=node.name,
                        hint=did_you_mean(node.name, functions()))
            return replace(typed, type=ERROR)
        if function.rule_only and not self.rule_context:
            self.report(node, f"{node.name}() can only be used in rule conditions", found=node.name)
            return replace(typed, type=ERROR)
        count, low, high = len(args), function.min_args, function.max_args
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
            plural = "" if wanted == "1" else "s"
            self.report(node, f"{node.name}() takes {wanted} argument{plural}, found {count}",
                        expected=function.signature, found=f"{count} argument{'s' if count != 1 else ''}")
            return replace(typed, type=ERROR)
        if any(a.type == ERROR for a in args):
            return replace(typed, type=ERROR)
        result = function.result_type(args, self.report)
        if result is None:
            return replace(typed, type=ERROR)
        return replace(typed, type=result, nullable=function.nullable(args), scale=function.result_scale(args))

    def _text(self, node: Node) -> str:
        """The source text a node came from, best effort (for hints)."""
        if isinstance(node, Path):
            return node.dotted
        return "value"


def expected_problem(source: str, node: Node, expected: str) -> Problem:
    """The expression's type does not fit where it is used (a condition, a formula of a field's type)."""
    line, column = start(node)
    return problem(source, line, column, f"expected {describe(expected)} here, found {describe(node.type)}",
                   expected=describe(expected), found=describe(node.type),
                   hint="conditions compare something, e.g. amount > 0" if expected == BOOLEAN else None)


def lookup_paths(entity: Entity, node: Node) -> tuple[str, ...]:
    """Dotted lookup prefixes an expression follows (``account``, ``account.parent_account``)."""
    found: dict[str, None] = {}
    for child in walk(node):
        if isinstance(child, Path) and len(child.names) > 1:
            for end in range(1, len(child.names)):
                found[".".join(child.names[:end])] = None
    return tuple(found)

