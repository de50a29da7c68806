"""Cross-file checks of the expressions a pack holds: they parse, type-check, and formulas do not loop."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from xrm.metadata.check_scope import Scope, problem_at
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity
from xrm.metadata.problems import JsonPath, PackProblem, format_json_path
from xrm.rules.expr import ExpressionError, check_expression


def _expression_problems(
    file: str, path: JsonPath, source: str, entity: Entity, scope: Scope, expected: str | None,
) -> Iterator[PackProblem]:
    return expression_problems(file, path, source, entity, scope.all_entities, expected)


def expression_problems(
    file: str, path: JsonPath, source: str, entity: Entity, entities: Mapping[str, Entity], expected: str | None,
) -> Iterator[PackProblem]:
    """The problems of one expression of a pack file, each at its JSON path with line:column inside it."""
    try:
        check_expression(source, entity, entities, expected=expected)
    except ExpressionError as error:
        for problem in error.problems:
            yield PackProblem(
                file, problem.message, path=format_json_path(path), line=problem.line, column=problem.column,
                expected=problem.expected, found=problem.found, hint=problem.hint, excerpt=problem.excerpt,
                code="expression",
            )


def check_expressions(scope: Scope) -> Iterator[PackProblem]:
    """Every expression parses and type-checks: validations, formulas, view filters, transition guards.

    Formulas may read other formulas, also across lookups, but never
    themselves through any chain: ``a = b + 1`` with ``b = a + 1`` is reported.
    """
    entities = {name: e for name, e in scope.all_entities.items() if name not in scope.unready_entities}
    formula_reads: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
    formula_places: dict[tuple[str, str], tuple[str, JsonPath]] = {}
    for item in scope.entities:
        entity = item.obj
        if entity.name not in entities:
            continue
        for index, field in enumerate(entity.fields):
            if field.expression:
                expected = get_field_type(field.type).value_type_of(field)  # a formula's: its result's type
                path = (*item.field_path(index), "expression")
                formula_places[(entity.name, field.name)] = (item.file, path)
                try:
                    formula_reads[(entity.name, field.name)] = check_expression(
                        field.expression, entity, scope.all_entities, expected=expected).fields_used
                except ExpressionError:
                    yield from _expression_problems(item.file, path, field.expression, entity, scope, expected)
        for index, field in enumerate(entity.fields):
            for condition in ("visible_when", "required_when"):
                source = getattr(field, condition)
                if source:
                    yield from _expression_problems(item.file, (*item.field_path(index), condition), source, entity,
                                                    scope, "boolean")
        for index, rule in enumerate(entity.validations):
            yield from _expression_problems(item.file, ("validations", index, "check"), rule.check, entity, scope,
                                            "boolean")
    for view in scope.views:
        if view.obj.filter and view.obj.entity in entities:
            yield from _expression_problems(view.file, ("filter",), view.obj.filter, entities[view.obj.entity],
                                            scope, "boolean")
    for flow in scope.workflows:
        entity = entities.get(flow.obj.entity)
        for index, transition in enumerate(flow.obj.transitions):
            if transition.guard and entity is not None:
                yield from _expression_problems(flow.file, ("transitions", index, "guard"), transition.guard, entity,
                                                scope, "boolean")
            if transition.approval and transition.approval.when and entity is not None:
                yield from _expression_problems(flow.file, ("transitions", index, "approval", "when"),
                                                transition.approval.when, entity, scope, "boolean")
        for index, state in enumerate(flow.obj.states):
            for name, source in (state.on_enter.set if state.on_enter and entity is not None else ()):
                field = entity.field(name)
                if field is None:
                    continue  # the cross-checks report the unknown field
                yield from _expression_problems(flow.file, ("states", index, "on_enter", "set", name), source, entity,
                                                scope, get_field_type(field.type).value_type_of(field))
    for cycle in formula_cycles(formula_reads):
        file, path = formula_places[cycle[0]]
        chain = " → ".join(f"{e}.{f}" for e, f in (*cycle, cycle[0]))
        yield problem_at(file, path, f"formula '{cycle[0][1]}' depends on itself: {chain}",
                       hint="a formula can read other formulas, but not through a loop back to itself",
                       code="formula_cycle")


def formula_cycles(reads: Mapping[tuple[str, str], frozenset[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """Each loop among formulas once, starting at its first formula in declaration order.

    Example: ``{a: {b}, b: {a}, c: {c}}`` gives ``[[a, b], [c]]``.
    """
    cycles: list[list[tuple[str, str]]] = []
    seen_in_cycle: set[tuple[str, str]] = set()
    for start in reads:
        if start in seen_in_cycle:
            continue
        stack: list[tuple[tuple[str, str], list[tuple[str, str]]]] = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(reads.get(node, ())):
                if nxt == start:
                    cycles.append(trail)
                    seen_in_cycle.update(trail)
                    stack.clear()
                    break
                if nxt in reads and nxt not in trail:
                    stack.append((nxt, [*trail, nxt]))
    return cycles
