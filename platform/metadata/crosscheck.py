"""Checks across a pack's files and against what is installed.

Each check is a function over a ``Scope`` that yields problems; ``CHECKS``
lists them in the order their problems are reported.  Paths point into the
file that declares the object (fields keep their position in the document).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version
from sqlalchemy import ForeignKeyConstraint, MetaData, UniqueConstraint

from xrm.metadata.check_scope import Located, Scope, problem_at, unknown_field
from xrm.metadata.dashboard_checks import check_dashboards
from xrm.metadata.expression_checks import check_expressions, formula_cycles
from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.identifiers import API_WORDS, SYSTEM_COLUMNS, identifier_problem, is_well_formed
from xrm.metadata.loader import MANIFEST
from xrm.metadata.model import Entity, Transition, Workflow
from xrm.metadata.problems import JsonPath, PackProblem
from xrm.metadata.suggest import did_you_mean
from xrm.metadata.tables import entity_table


def check_dependencies(scope: Scope) -> Iterator[PackProblem]:
    """Every pack named in ``depends_on`` is installed, in a matching version."""
    for name, spec in (scope.manifest.get("depends_on") or {}).items():
        path = ("depends_on", name)
        if name == scope.pack_name:
            yield problem_at(MANIFEST, path, "a pack cannot depend on itself")
            continue
        try:
            wanted = SpecifierSet(spec)
        except InvalidSpecifier:
            yield problem_at(MANIFEST, path, f"'{spec}' is not a version specifier",
                           expected="something like \">=1.0\" or \">=1.2,<2\"", found=spec)
            continue
        installed = scope.installed.packs.get(name)
        if installed is None:
            yield problem_at(
                MANIFEST, path, f"this pack needs pack '{name}', which is not installed",
                expected=f"pack {name} {spec} installed first", found="not installed",
                hint=did_you_mean(name, scope.installed.packs)
                or f"install {name} first (xrm pack install); references to its entities are checked then",
                code="missing_dependency",
            )
        elif Version(installed.version) not in wanted:
            yield problem_at(MANIFEST, path, f"this pack needs {name} {spec}, but {name} {installed.version} is installed",
                           expected=f"{name} {spec}", found=installed.version)


def _duplicates(items: list[tuple[str, str]], kind: str, file_path: Callable[[str], tuple[str, JsonPath]]) -> Iterator[PackProblem]:
    counts = Counter(name for name, _ in items)
    for name, count in counts.items():
        if count > 1:
            files = sorted({file for n, file in items if n == name})
            file, path = file_path(name)
            yield problem_at(file, path, f"{kind} '{name}' is declared {count} times", found=", ".join(files),
                           expected="each name once")


def check_unique_names(scope: Scope) -> Iterator[PackProblem]:
    """Names are unique within the pack and do not clash with other installed packs."""
    groups = [("entity", scope.entities), ("view", scope.views), ("workflow", scope.workflows), ("role", scope.roles)]
    for kind, located in groups:
        items = [(item.obj.name, item.file) for item in located]
        first_file = {name: file for name, file in reversed(items)}
        yield from _duplicates(items, kind, lambda n, ff=first_file: (ff[n], ("name",)))
    for kind, located in groups:
        for item in located:
            owner = scope.installed.owner(kind, item.obj.name)
            if owner is not None and owner != scope.pack_name:
                yield problem_at(item.file, ("name",), f"{kind} '{item.obj.name}' already exists in installed pack '{owner}'",
                               expected="a name no installed pack uses", found=item.obj.name)


def check_reserved_names(scope: Scope) -> Iterator[PackProblem]:
    """Well-formed names that are still reserved (keywords, system columns, the xrm_ prefix)."""
    def reserved(file: str, path: JsonPath, name: str, extra: frozenset[str] = frozenset()) -> Iterator[PackProblem]:
        # malformed names are the JSON Schema's to report; this catches well-formed but reserved ones
        if is_well_formed(name) and (problem := identifier_problem(name, extra_reserved=extra)):
            yield problem_at(file, path, problem, found=name)

    for item in scope.entities:
        yield from reserved(item.file, ("name",), item.obj.name, API_WORDS)
        for index, field in enumerate(item.obj.fields):
            yield from reserved(item.file, (*item.field_path(index), "name"), field.name, SYSTEM_COLUMNS)
    for group in (scope.views, scope.workflows, scope.roles):
        for item in group:
            yield from reserved(item.file, ("name",), item.obj.name)


def check_entities(scope: Scope) -> Iterator[PackProblem]:
    """Fields, display field, indexes and validations of each entity."""
    entities = scope.all_entities
    known = {**entities, **{name: None for name in scope.unbuilt_entities}}
    for item in scope.entities:
        entity, file = item.obj, item.file
        seen: set[str] = set()
        for index, field in enumerate(entity.fields):
            path = item.field_path(index)
            if field.name in seen:
                yield problem_at(file, (*path, "name"), f"field '{field.name}' is declared twice in entity '{entity.name}'",
                               expected="each field name once", found=field.name)
            seen.add(field.name)
            yield from _check_field(file, path, field, entity, known)
        if not scope.has_field(entity, entity.display_field) and entity.display_field != "id":
            yield unknown_field(file, ("display_field",), entity.display_field, entity)
        yield from _check_indexes(file, entity, scope)
        for index, rule in enumerate(entity.validations):
            for position, name in enumerate(rule.fields):
                if not scope.has_field(entity, name):
                    yield unknown_field(file, ("validations", index, "fields", position), name, entity)
        names = Counter(rule.name for rule in entity.validations)
        for index, rule in enumerate(entity.validations):
            if names[rule.name] > 1:
                yield problem_at(file, ("validations", index, "name"), f"validation '{rule.name}' is declared twice",
                               expected="each name once", found=rule.name)
                names[rule.name] = 0


def _check_field(file: str, path: JsonPath, field, entity: Entity, known: Mapping) -> Iterator[PackProblem]:  # noqa: ANN001
    field_type = get_field_type(field.type)
    for problem in field_type.check_definition(field, entity, known):
        yield problem_at(file, (*path, *problem.path), problem.message, expected=problem.expected,
                       found=problem.found, hint=problem.hint, code=problem.code)
    if (field.unique or field.indexed) and not field_type.indexable:
        yield problem_at(file, (*path, "unique" if field.unique else "indexed"),
                       f"a {field.type} field cannot be unique or indexed", found=field.type)
    if field.default is None:
        return
    if field_type.computed:
        yield problem_at(file, (*path, "default"), f"field '{field.name}' ({field.type}) is computed and cannot have a default",
                       found=repr(field.default))
        return
    try:
        value = field_type.coerce(field.default, field)
        error = field_type.validate(value, field) if value is not None else None
    except FieldValueError as exc:
        error = exc
    if error is not None:
        yield problem_at(file, (*path, "default"), f"default value does not fit field '{field.name}': {error.message}",
                       expected=f"a value of type {field.type}", found=json.dumps(field.default))
    elif field.options and isinstance(value, str) and value != field.default:  # people may type labels; packs name values
        yield problem_at(file, (*path, "default"), f"the default of '{field.name}' names a label; write the option value",
                       expected=json.dumps(value), found=json.dumps(field.default))


def _check_indexes(file: str, entity: Entity, scope: Scope) -> Iterator[PackProblem]:
    groups = [("indexes", i, ("fields",), index.fields) for i, index in enumerate(entity.indexes)]
    groups += [("unique_together", i, (), fields) for i, fields in enumerate(entity.unique_together)]
    for key, position, inner, names in groups:
        for offset, name in enumerate(names):
            path = (key, position, *inner, offset)
            field = entity.field(name)
            if not scope.has_field(entity, name) and name not in SYSTEM_COLUMNS:
                yield unknown_field(file, path, name, entity, also=SYSTEM_COLUMNS)
            elif field is not None and not get_field_type(field.type).indexable:
                yield problem_at(file, path, f"a {field.type} field cannot be part of an index or unique constraint",
                               found=name)


def _constraint_names(entity: Entity) -> Iterator[tuple[str, str]]:
    """``(constraint name, what it is for)`` of every index and constraint of the entity's table."""
    names = [f.name for f in entity.fields]
    indexed = {name for index in entity.indexes for name in index.fields}
    indexed |= {name for together in entity.unique_together for name in together}
    if len(set(names)) != len(names) or SYSTEM_COLUMNS & set(names) or not indexed <= set(names) | SYSTEM_COLUMNS:
        return  # no table can be built; check_entities and check_reserved_names report why
    table = entity_table(entity, MetaData())
    for index in table.indexes:
        yield str(index.name), f"index on {entity.name}({', '.join(c.name for c in index.columns)})"
    for constraint in table.constraints:
        if isinstance(constraint, (UniqueConstraint, ForeignKeyConstraint)):
            columns = ", ".join(c.name for c in constraint.columns)
            yield str(constraint.name), f"constraint on {entity.name}({columns})"


def check_constraint_names(scope: Scope) -> Iterator[PackProblem]:
    """Index and constraint names are unique in the database.

    Names are derived from table and column names joined by '_', so entity
    ``order`` with field ``line_total`` and entity ``order_line`` with field
    ``total`` would both want ``ix_order_line_total``.
    """
    taken: dict[str, str] = {}
    everything = [*scope.installed.entities.values(), *(item.obj for item in scope.entities)]
    for entity in everything:  # tables share one namespace with indexes (and PostgreSQL's <table>_pkey)
        taken.setdefault(entity.table_name, f"table {entity.table_name}")
        taken.setdefault(f"{entity.table_name}_pkey", f"primary key of {entity.table_name}")
    for entity in scope.installed.entities.values():
        for name, what in _constraint_names(entity):
            taken.setdefault(name, what)
    for item in scope.entities:
        for name, what in _constraint_names(item.obj):
            other = taken.setdefault(name, what)
            if other != what:
                yield problem_at(item.file, ("name",), f"the {what} would be named '{name}', like the {other}",
                               expected="distinct index and constraint names", found=name,
                               hint="rename one of the two entities or fields")


def check_views(scope: Scope) -> Iterator[PackProblem]:
    """Views name a known entity, and its fields as columns and sort keys."""
    entities = scope.all_entities
    defaults: Counter[str] = Counter()
    for item in scope.views:
        view, file = item.obj, item.file
        entity = entities.get(view.entity)
        if entity is None:
            if view.entity not in scope.unbuilt_entities:
                yield problem_at(file, ("entity",), f"view '{view.name}' is on unknown entity '{view.entity}'",
                               found=view.entity, hint=did_you_mean(view.entity, entities), code="unknown_entity")
            continue
        for index, column in enumerate(view.columns):
            if not scope.has_field(entity, column) and column not in SYSTEM_COLUMNS:
                yield unknown_field(file, ("columns", index), column, entity, also=SYSTEM_COLUMNS)
        for index, key in enumerate(view.sort):
            if not scope.has_field(entity, key.field) and key.field not in SYSTEM_COLUMNS:
                yield unknown_field(file, ("sort", index, "field"), key.field, entity, also=SYSTEM_COLUMNS)
        if view.default:
            defaults[view.entity] += 1
            if defaults[view.entity] == 2:
                yield problem_at(file, ("default",), f"entity '{view.entity}' already has a default view",
                               expected="one default view per entity")


def check_workflows(scope: Scope) -> Iterator[PackProblem]:
    """A workflow's states are the values of its picklist field; transitions connect them."""
    entities = scope.all_entities
    roles = scope.all_role_names
    for item in scope.workflows:
        flow, file = item.obj, item.file
        entity = entities.get(flow.entity)
        if entity is None:
            if flow.entity not in scope.unbuilt_entities:
                yield problem_at(file, ("entity",), f"workflow '{flow.name}' is on unknown entity '{flow.entity}'",
                               found=flow.entity, hint=did_you_mean(flow.entity, entities), code="unknown_entity")
            continue
        field = entity.field(flow.field)
        if field is None:
            if not scope.has_field(entity, flow.field):
                yield unknown_field(file, ("field",), flow.field, entity)
            continue
        if field.type != "picklist":
            yield problem_at(file, ("field",), f"a workflow needs a picklist field; '{field.name}' is {field.type}",
                           expected="a picklist field", found=field.type)
            continue
        values = [o.value for o in field.options]
        states = [s.name for s in flow.states]
        for index, state in enumerate(flow.states):
            if state.name not in values:
                yield problem_at(file, ("states", index, "name"),
                               f"state '{state.name}' is not a value of picklist '{entity.name}.{field.name}'",
                               expected="one of " + ", ".join(values), found=state.name,
                               hint=did_you_mean(state.name, values))
        for value in values:
            if value not in states:
                yield problem_at(file, ("states",), f"picklist value '{value}' of '{entity.name}.{field.name}' is not a state",
                               hint="records with this value would be stuck outside the workflow", severity="warning")
        if flow.initial not in states:
            yield problem_at(file, ("initial",), f"initial state '{flow.initial}' is not one of the states",
                           expected="one of " + ", ".join(states), found=flow.initial,
                           hint=did_you_mean(flow.initial, states))
        elif field.option(field.default) is not None and field.default != flow.initial:
            yield problem_at(file, ("initial",),
                           f"initial state '{flow.initial}' differs from the default '{field.default}' of "
                           f"'{entity.name}.{field.name}'", hint="new records would start outside the initial state",
                           severity="warning")
        yield from _check_transitions(file, flow, entity, states, roles, scope)
        yield from _check_entry_actions(file, flow, entity, roles, scope)


def _check_transitions(
    file: str, flow: Workflow, entity: Entity, states: list[str], roles: set[str], scope: Scope,
) -> Iterator[PackProblem]:
    seen: set[str] = set()
    final_states = {s.name for s in flow.states if s.final}
    for index, transition in enumerate(flow.transitions):
        path = ("transitions", index)
        if transition.name in seen:
            yield problem_at(file, (*path, "name"), f"transition '{transition.name}' is declared twice",
                           expected="each name once", found=transition.name)
        seen.add(transition.name)
        for position, source in enumerate(transition.sources):
            if source not in states:
                yield problem_at(file, (*path, "from", position), f"unknown state '{source}'",
                               expected="one of " + ", ".join(states), found=source, hint=did_you_mean(source, states))
            elif source in final_states:
                yield problem_at(file, (*path, "from", position), f"state '{source}' is final: no transition leaves it",
                               found=source, hint="remove 'final' from the state, or this transition")
        if transition.target not in states:
            yield problem_at(file, (*path, "to"), f"unknown state '{transition.target}'",
                           expected="one of " + ", ".join(states), found=transition.target,
                           hint=did_you_mean(transition.target, states))
        for position, role in enumerate(transition.roles):
            if role not in roles:
                yield problem_at(file, (*path, "roles", position), f"unknown role '{role}'",
                               expected="a role of this pack or of a pack it depends on", found=role,
                               hint=did_you_mean(role, roles))
        for position, name in enumerate(transition.requires):
            if not scope.has_field(entity, name):
                yield unknown_field(file, (*path, "requires", position), name, entity)
        yield from _check_approval(file, path, transition, entity, states, roles, scope)


def _check_entry_actions(file: str, flow: Workflow, entity: Entity, roles: set[str],
                         scope: Scope) -> Iterator[PackProblem]:
    for index, state in enumerate(flow.states):
        actions = state.on_enter
        if actions is None:
            continue
        here = ("states", index, "on_enter")
        for name, _source in actions.set:
            field = entity.field(name)
            if field is None:
                if not scope.has_field(entity, name):
                    yield unknown_field(file, (*here, "set", name), name, entity)
            elif name == flow.field:
                yield problem_at(file, (*here, "set", name), f"'{name}' is the workflow's own state",
                               hint="the transition sets the state; set other fields here")
            elif get_field_type(field.type).computed:
                yield problem_at(file, (*here, "set", name), f"'{name}' is computed and cannot be set",
                               found=field.type)
        for position, target in enumerate(actions.notify):
            name = target.partition(":")[2]
            if target.startswith("role:") and name not in roles:
                yield problem_at(file, (*here, "notify", position), f"unknown role '{name}'",
                               expected="a role of this pack or of a pack it depends on", found=target,
                               hint=did_you_mean(name, roles))


def _check_approval(file: str, path: tuple, transition: Transition, entity: Entity, states: list[str],
                    roles: set[str], scope: Scope) -> Iterator[PackProblem]:
    approval = transition.approval
    if approval is None:
        return
    here = (*path, "approval")
    if approval.approver_kind == "role" and approval.approver_name not in roles:
        yield problem_at(file, (*here, "approver"), f"unknown role '{approval.approver_name}'",
                       expected="a role of this pack or of a pack it depends on", found=approval.approver,
                       hint=did_you_mean(approval.approver_name or "", roles))
    for key in ("pending", "on_reject"):
        state = getattr(approval, key)
        if state is not None and state not in states:
            yield problem_at(file, (*here, key), f"unknown state '{state}'", expected="one of " + ", ".join(states),
                           found=state, hint=did_you_mean(state, states))
    for key, wanted in (("set_approver", ("user",)), ("comment_field", ("text", "long_text"))):
        name = getattr(approval, key)
        if name is None:
            continue
        field = entity.field(name)
        if field is None:
            if not scope.has_field(entity, name):
                yield unknown_field(file, (*here, key), name, entity)
        elif field.type not in wanted:
            yield problem_at(file, (*here, key), f"'{name}' is a {field.type} field",
                           expected=" or ".join(f"a {t} field" for t in wanted), found=field.type)


def check_roles(scope: Scope) -> Iterator[PackProblem]:
    """Roles grant on known entities and name their fields."""
    entities = scope.all_entities
    for item in scope.roles:
        role, file = item.obj, item.file
        for permission in role.permissions:
            path = ("permissions", permission.entity)
            entity = entities.get(permission.entity)
            if entity is None:
                if permission.entity not in scope.unbuilt_entities:
                    yield problem_at(file, path, f"role '{role.name}' grants on unknown entity '{permission.entity}'",
                                   found=permission.entity, hint=did_you_mean(permission.entity, entities),
                                   code="unknown_entity")
                continue
            for key in ("hidden_fields", "read_only_fields"):
                for position, name in enumerate(getattr(permission, key)):
                    if not scope.has_field(entity, name):
                        yield unknown_field(file, (*path, key, position), name, entity)


__all__ = ["CHECKS", "Located", "Scope", "check_dashboards", "check_expressions", "cross_check", "formula_cycles"]

CHECKS: tuple[Callable[[Scope], Iterator[PackProblem]], ...] = (
    check_dependencies,
    check_unique_names,
    check_reserved_names,
    check_entities,
    check_constraint_names,
    check_views,
    check_workflows,
    check_roles,
    check_dashboards,
    check_expressions,  # last: it skips entities the checks above found broken
)


def cross_check(scope: Scope) -> list[PackProblem]:
    """Every cross-file problem of the pack, in the order of ``CHECKS``.

    While a dependency is missing, references to entities it would bring are
    not reported one by one (the missing dependency is the problem to fix) —
    except near misses of a known name, which are typos whatever is installed.
    """
    problems = [_explain_undeclared(problem, scope) for check in CHECKS[:-1] for problem in check(scope)]
    unready = {
        item.obj.name for item in scope.entities
        if item.obj.name in scope.broken_fields
        or any(p.file == item.file and p.severity == "error" and (p.path or "").startswith("$.fields") for p in problems)
    }
    problems += [_explain_undeclared(p, scope) for p in CHECKS[-1](replace(scope, unready_entities=frozenset(unready)))]
    if any(p.code == "missing_dependency" for p in problems):
        problems = [p for p in problems if not (p.code == "unknown_entity" and p.hint is None)]
    return problems


def _explain_undeclared(problem: PackProblem, scope: Scope) -> PackProblem:
    """An "unknown" entity that an installed pack has: the pack forgot to declare the dependency."""
    owner = scope.installed.owner("entity", problem.found or "") if problem.code == "unknown_entity" else None
    if owner is None:
        return problem
    hint = f"entity '{problem.found}' belongs to pack '{owner}': add \"{owner}\" to depends_on in {MANIFEST}"
    return replace(problem, hint=hint, code="undeclared_dependency")
