"""Cross-file checks, called one by one on hand-built scopes: each problem's file, JSON path and message."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from xrm.metadata.builder import humanize
from xrm.metadata.catalog import Catalog
from xrm.metadata.crosscheck import (
    CHECKS,
    Located,
    Scope,
    check_constraint_names,
    check_dashboards,
    check_dependencies,
    check_entities,
    check_expressions,
    check_reserved_names,
    check_roles,
    check_unique_names,
    check_views,
    check_workflows,
    cross_check,
)
from xrm.metadata.model import (
    Entity,
    EntityPermission,
    Field,
    Index,
    ListView,
    Pack,
    PicklistOption,
    Role,
    SortKey,
    Transition,
    ValidationRule,
    Workflow,
    WorkflowState,
)
from xrm.metadata.problems import PackProblem

Found = list[tuple[str, str | None, str]]

# -- building scopes ----------------------------------------------------------------


def field(name: str, type_: str = "text", **details: Any) -> Field:
    return Field(name, type_, humanize(name), **details)


def options(*values: str, inactive: Iterable[str] = ()) -> tuple[PicklistOption, ...]:
    return tuple(PicklistOption(v, humanize(v), i, active=v not in inactive) for i, v in enumerate(values))


def entity(name: str, *fields: Field, pack: str = "p", display_field: str = "id", **details: Any) -> Entity:
    return Entity(name, humanize(name), humanize(name) + "s", pack, display_field, fields, **details)


TICKET = entity(
    "ticket", field("subject"), field("status", "picklist", options=options("open", "pending", "closed")),
    field("hours", "decimal"), field("customer", "lookup", target="customer"), display_field="subject",
)
CUSTOMER = entity("customer", field("name"), display_field="name")


def located(obj: Any, folder: str, positions: tuple[int, ...] | None = None, file: str | None = None) -> Located:
    if positions is None and isinstance(obj, Entity):
        positions = tuple(range(len(obj.fields)))
    return Located(obj, file or f"{folder}/{obj.name}.json", positions or ())


def scope(
    entities: Iterable[Entity | Located] = (), views: Iterable[ListView | Located] = (),
    workflows: Iterable[Workflow | Located] = (), roles: Iterable[Role | Located] = (),
    installed: Catalog | None = None, manifest: dict | None = None, **details: Any,
) -> Scope:
    def wrap(items: Iterable, folder: str) -> tuple[Located, ...]:
        return tuple(i if isinstance(i, Located) else located(i, folder) for i in items)

    installed = installed or Catalog()
    # by default the pack depends on everything installed; tests of undeclared dependencies pass a manifest
    depends_on = {name: ">=0" for name in installed.packs}
    return Scope(
        pack_name="p", manifest=manifest or {"name": "p", "version": "1.0", "label": "P", "depends_on": depends_on},
        entities=wrap(entities, "entities"), views=wrap(views, "views"), workflows=wrap(workflows, "workflows"),
        roles=wrap(roles, "roles"), installed=installed, **details,
    )


def run(check: Callable[[Scope], Iterator[PackProblem]], the_scope: Scope) -> Found:
    return [(p.file, p.path, p.message) for p in check(the_scope)]


def only(check: Callable[[Scope], Iterator[PackProblem]], the_scope: Scope) -> PackProblem:
    found = list(check(the_scope))
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def installed_pack(name: str, version: str, *entities: Entity, views: tuple = (), roles: tuple = ()) -> Catalog:
    return Catalog().with_pack(Pack(name, version, name.upper(), None, {}, entities, views=views, roles=roles))


CRM = installed_pack("crm", "1.0.0", entity("account", field("name"), pack="crm"))


def test_checks_run_in_the_documented_order() -> None:
    assert CHECKS == (check_dependencies, check_unique_names, check_reserved_names, check_entities,
                      check_constraint_names, check_views, check_workflows, check_roles, check_dashboards,
                      check_expressions)


def test_located_field_path_keeps_the_position_in_the_document() -> None:
    item = Located(TICKET, "entities/ticket.json", (0, 2, 5, 6))
    assert [item.field_path(i) for i in range(4)] == [("fields", 0), ("fields", 2), ("fields", 5), ("fields", 6)]
    assert Located(TICKET, "entities/ticket.json").field_path(3) == ("fields", 3)


# -- dependencies ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("depends_on", "installed", "message", "expected", "found", "hint"),
    [
        ({"p": ">=1.0"}, Catalog(), "a pack cannot depend on itself", None, None, None),
        ({"crm": "newest"}, CRM, "'newest' is not a version specifier",
         "something like \">=1.0\" or \">=1.2,<2\"", "newest", None),
        ({"crm": ">=1.0"}, Catalog(), "this pack needs pack 'crm', which is not installed",
         "pack crm >=1.0 installed first", "not installed",
         "install crm first (xrm pack install); references to its entities are checked then"),
        ({"crn": ">=1.0"}, CRM, "this pack needs pack 'crn', which is not installed",
         "pack crn >=1.0 installed first", "not installed", "did you mean 'crm'?"),
        ({"crm": ">=2.0"}, CRM, "this pack needs crm >=2.0, but crm 1.0.0 is installed", "crm >=2.0", "1.0.0", None),
        ({"crm": "<1.0"}, CRM, "this pack needs crm <1.0, but crm 1.0.0 is installed", "crm <1.0", "1.0.0", None),
    ],
)
def test_dependency_problems(
    depends_on: dict, installed: Catalog, message: str, expected: str | None, found: str | None, hint: str | None,
) -> None:
    name = next(iter(depends_on))
    problem = only(check_dependencies, scope(installed=installed, manifest={"name": "p", "depends_on": depends_on}))
    assert (problem.file, problem.path, problem.message) == ("pack.json", f"$.depends_on.{name}", message)
    assert (problem.expected, problem.found, problem.hint) == (expected, found, hint)


def test_missing_dependency_has_a_code_for_programs() -> None:
    problem = only(check_dependencies, scope(manifest={"depends_on": {"crm": ">=1"}}))
    assert problem.code == "missing_dependency"


@pytest.mark.parametrize("depends_on", [None, {}, {"crm": ">=1.0,<2"}, {"crm": "==1.0.0"}, {"crm": ""}])
def test_satisfied_dependencies(depends_on: dict | None) -> None:
    assert run(check_dependencies, scope(installed=CRM, manifest={"name": "p", "depends_on": depends_on})) == []


def test_every_dependency_is_checked_in_manifest_order() -> None:
    the_scope = scope(installed=CRM, manifest={"depends_on": {"billing": ">=1", "crm": ">=9", "p": "*"}})
    assert [path for _, path, _ in run(check_dependencies, the_scope)] == [
        "$.depends_on.billing", "$.depends_on.crm", "$.depends_on.p",
    ]


# -- unique names ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kind", "folder", "make"),
    [
        ("entity", "entities", lambda: entity("lead", field("name"))),
        ("view", "views", lambda: ListView("lead_list", "lead", "Leads", ("name",))),
        ("workflow", "workflows", lambda: Workflow("flow", "lead", "stage", "Flow", "a", (), ())),
        ("role", "roles", lambda: Role("seller", "Seller", ())),
    ],
)
def test_name_declared_in_several_files_is_reported_once_at_the_first_file(kind: str, folder: str, make) -> None:  # noqa: ANN001
    obj = make()
    items = [located(obj, folder, file=f"{folder}/{n}.json") for n in ("b", "a", "c")]
    the_scope = scope(**{f"{folder}": items})
    problem = only(check_unique_names, the_scope)
    assert (problem.file, problem.path, problem.message) == (f"{folder}/b.json", "$.name",
                                                            f"{kind} '{obj.name}' is declared 3 times")
    assert (problem.found, problem.expected) == (f"{folder}/a.json, {folder}/b.json, {folder}/c.json", "each name once")


def test_same_name_for_different_kinds_is_fine() -> None:
    the_scope = scope(entities=[entity("lead", field("name"))], views=[ListView("lead", "lead", "Leads", ("name",))],
                      roles=[Role("lead", "Lead", ())])
    assert run(check_unique_names, the_scope) == []


def test_entity_clashing_with_another_installed_pack() -> None:
    problem = only(check_unique_names, scope(entities=[entity("account", field("name"))], installed=CRM))
    assert (problem.file, problem.path, problem.message) == (
        "entities/account.json", "$.name", "entity 'account' already exists in installed pack 'crm'",
    )
    assert (problem.expected, problem.found) == ("a name no installed pack uses", "account")


def test_entity_of_the_same_pack_already_installed_is_not_a_clash() -> None:
    installed = installed_pack("p", "0.9", entity("lead", field("name")))
    assert run(check_unique_names, scope(entities=[entity("lead", field("name"))], installed=installed)) == []


def test_view_clashing_with_another_installed_packs_view() -> None:
    crm = installed_pack("crm", "1.0.0", entity("account", field("name"), pack="crm"),
                         views=(ListView("all_accounts", "account", "Accounts", ("name",)),))
    the_scope = scope(views=[ListView("all_accounts", "account", "All", ("name",))], installed=crm)
    assert [path for _, path, _ in run(check_unique_names, the_scope)] == ["$.name"]


# -- reserved names ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("xrm_things", "'xrm_things' starts with 'xrm_', which is reserved for the platform"),
        ("in", "'in' is a keyword of the expression language and cannot be used as a name"),
    ],
)
def test_reserved_entity_name(name: str, message: str) -> None:
    problem = only(check_reserved_names, scope(entities=[located(entity(name, field("title")), "", file="entities/x.json")]))
    assert (problem.file, problem.path, problem.message, problem.found) == ("entities/x.json", "$.name", message, name)


@pytest.mark.parametrize("name", ["Lead", "1lead", "x" * 64, "le-ad", "lead\n"])
def test_names_the_schema_rejects_are_not_reported_again(name: str) -> None:
    the_scope = scope(entities=[entity(name, field(name))], views=[ListView(name, "lead", "L", ("a",))])
    assert run(check_reserved_names, the_scope) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("id", "'id' is reserved by the platform"),
        ("owner_id", "'owner_id' is reserved by the platform"),
        ("empty", "'empty' is a keyword of the expression language and cannot be used as a name"),
        ("xrm_flag", "'xrm_flag' starts with 'xrm_', which is reserved for the platform"),
    ],
)
def test_reserved_field_name_is_reported_at_its_place_in_the_file(name: str, message: str) -> None:
    # the field at position 1 of the file was too broken to build: built fields keep their file positions
    item = located(entity("lead", field("title"), field(name)), "entities", positions=(0, 2))
    assert run(check_reserved_names, scope(entities=[item])) == [("entities/lead.json", "$.fields[2].name", message)]


@pytest.mark.parametrize(
    ("folder", "obj"),
    [
        ("views", ListView("and", "lead", "L", ("a",))),
        ("workflows", Workflow("and", "lead", "stage", "F", "a", (), ())),
        ("roles", Role("and", "R", ())),
    ],
)
def test_reserved_names_of_views_workflows_and_roles(folder: str, obj: Any) -> None:
    assert run(check_reserved_names, scope(**{folder: [obj]})) == [
        (f"{folder}/and.json", "$.name", "'and' is a keyword of the expression language and cannot be used as a name"),
    ]


def test_system_column_names_are_only_reserved_for_fields() -> None:
    assert run(check_reserved_names, scope(entities=[entity("version", field("title"))])) == []


# -- entities --------------------------------------------------------------------------------

def entity_problems(*entities: Entity | Located, **details: Any) -> Found:
    return run(check_entities, scope(entities=entities, **details))


def test_valid_entities_have_no_problems() -> None:
    assert entity_problems(TICKET, CUSTOMER) == []


def test_field_declared_twice_is_reported_at_the_second() -> None:
    assert entity_problems(entity("lead", field("name"), field("email"), field("name", "integer"))) == [
        ("entities/lead.json", "$.fields[2].name", "field 'name' is declared twice in entity 'lead'"),
    ]


def test_lookup_to_an_unknown_entity() -> None:
    lead = entity("lead", field("title"), field("owner_org", "lookup", target="custmer"))
    problem = only(check_entities, scope(entities=[lead, CUSTOMER]))
    assert (problem.file, problem.path, problem.message) == (
        "entities/lead.json", "$.fields[1].target", "lookup 'owner_org' points to unknown entity 'custmer'",
    )
    assert (problem.hint, problem.code, problem.found) == ("did you mean 'customer'?", "unknown_entity", "custmer")


@pytest.mark.parametrize(
    "details",
    [
        {"installed": installed_pack("crm", "1.0.0", dataclasses.replace(CUSTOMER, pack="crm"))},
        {"unbuilt_entities": frozenset({"customer"})},
    ],
)
def test_lookup_to_an_installed_or_unbuilt_entity_is_known(details: dict) -> None:
    assert entity_problems(entity("lead", field("org", "lookup", target="customer")), **details) == []


@pytest.mark.parametrize(("flag", "value"), [("unique", True), ("indexed", True)])
def test_field_that_cannot_be_indexed(flag: str, value: bool) -> None:
    tags = field("tags", "multi_picklist", options=options("a", "b"), **{flag: value})
    problem = only(check_entities, scope(entities=[entity("lead", field("title"), tags)]))
    assert (problem.path, problem.message, problem.found) == (
        f"$.fields[1].{flag}", "a multi_picklist field cannot be unique or indexed", "multi_picklist",
    )


def test_computed_field_cannot_have_a_default() -> None:
    total = field("total", "formula", expression="1", returns="integer", default=3)
    problem = only(check_entities, scope(entities=[entity("lead", total)]))
    assert (problem.path, problem.message, problem.found) == (
        "$.fields[0].default", "field 'total' (formula) is computed and cannot have a default", "3",
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (field("active", "boolean", default="perhaps"),
         "default value does not fit field 'active': expected yes or no (true/false), found 'perhaps'"),
        (field("stage", "picklist", options=options("new", "old", inactive=["old"]), default="old"),
         "default value does not fit field 'stage': 'Old' is no longer an available choice"),
        (field("stage", "picklist", options=options("new", "old"), default="nwe"),
         "default value does not fit field 'stage': 'nwe' is not one of new, old; did you mean 'new'?"),
    ],
)
def test_default_that_does_not_fit_its_field(bad: Field, message: str) -> None:
    problem = only(check_entities, scope(entities=[entity("lead", field("title"), bad)]))
    assert (problem.path, problem.message) == ("$.fields[1].default", message)
    assert (problem.expected, problem.found) == (f"a value of type {bad.type}", json.dumps(bad.default))


@pytest.mark.parametrize(
    "good",
    [field("active", "boolean", default="yes"), field("n", "integer", default="12"), field("d", "duration", default="3d"),
     field("s", "text", default="")],
)
def test_default_that_fits(good: Field) -> None:
    assert entity_problems(entity("lead", good)) == []


def test_picklist_default_must_be_the_value_not_the_label() -> None:
    stage = field("stage", "picklist", options=options("new"), default="New")
    problem = only(check_entities, scope(entities=[entity("lead", stage)]))
    assert (problem.path, problem.message, problem.expected, problem.found) == (
        "$.fields[0].default", "the default of 'stage' names a label; write the option value", '"new"', '"New"',
    )


def test_unknown_display_field_suggests_the_nearest() -> None:
    problem = only(check_entities, scope(entities=[entity("lead", field("subject"), display_field="subjet")]))
    assert (problem.file, problem.path, problem.message, problem.hint) == (
        "entities/lead.json", "$.display_field", "entity 'lead' has no field 'subjet'", "did you mean 'subject'?",
    )
    assert (problem.expected, problem.found) == ("a field of lead", "subjet")


@pytest.mark.parametrize(
    ("display_field", "details"),
    [("id", {}), ("broken", {"broken_fields": {"lead": frozenset({"broken"})}})],
)
def test_display_field_that_is_id_or_a_broken_field_is_known(display_field: str, details: dict) -> None:
    assert entity_problems(entity("lead", field("subject"), display_field=display_field), **details) == []


def test_index_and_unique_together_name_known_indexable_fields() -> None:
    lead = entity(
        "lead", field("name"), field("email"), field("tags", "multi_picklist", options=options("a")),
        indexes=(Index("ix_lead", ("name", "emial", "owner_id")), Index("ix_lead_tags", ("tags",))),
        unique_together=(("name", "nmae"), ("created_at", "email")),
    )
    assert entity_problems(lead) == [
        ("entities/lead.json", "$.indexes[0].fields[1]", "entity 'lead' has no field 'emial'"),
        ("entities/lead.json", "$.indexes[1].fields[0]",
         "a multi_picklist field cannot be part of an index or unique constraint"),
        ("entities/lead.json", "$.unique_together[0][1]", "entity 'lead' has no field 'nmae'"),
    ]


def test_unknown_index_field_may_be_a_near_miss_of_a_system_column() -> None:
    problem = only(check_entities, scope(entities=[entity("lead", field("name"), indexes=(Index("ix", ("owner",)),))]))
    assert problem.hint == "did you mean 'owner_id'?"


def test_validations_name_known_fields_and_are_named_once() -> None:
    lead = entity("lead", field("name"), field("email"), validations=(
        ValidationRule("named", "name is not empty", "Name it", ("name", "nmae")),
        ValidationRule("named", "email is not empty", "Mail", ("email",)),
        ValidationRule("other", "true", "x"),
    ))
    assert entity_problems(lead) == [
        ("entities/lead.json", "$.validations[0].fields[1]", "entity 'lead' has no field 'nmae'"),
        ("entities/lead.json", "$.validations[0].name", "validation 'named' is declared twice"),
    ]


def test_broken_fields_are_known_to_indexes_and_validations() -> None:
    lead = entity("lead", field("name"), indexes=(Index("ix", ("broken",)),),
                  validations=(ValidationRule("v", "true", "m", ("broken",)),))
    assert entity_problems(lead, broken_fields={"lead": frozenset({"broken"})}) == []


# -- views ------------------------------------------------------------------------------------

def test_view_on_an_unknown_entity() -> None:
    problem = only(check_views, scope(entities=[TICKET], views=[ListView("all", "tiket", "All", ("subject",))]))
    assert (problem.file, problem.path, problem.message) == (
        "views/all.json", "$.entity", "view 'all' is on unknown entity 'tiket'",
    )
    assert (problem.found, problem.hint, problem.code) == ("tiket", "did you mean 'ticket'?", "unknown_entity")


def test_view_on_an_unbuilt_entity_is_not_checked_further() -> None:
    view = ListView("all", "ticket", "All", ("nothing",))
    assert run(check_views, scope(views=[view], unbuilt_entities=frozenset({"ticket"}))) == []


def test_view_columns_and_sort_keys() -> None:
    view = ListView("all", "ticket", "All", ("subject", "subjct", "created_at"),
                    sort=(SortKey("hour"), SortKey("updated_at", True), SortKey("status")))
    assert run(check_views, scope(entities=[TICKET], views=[view])) == [
        ("views/all.json", "$.columns[1]", "entity 'ticket' has no field 'subjct'"),
        ("views/all.json", "$.sort[0].field", "entity 'ticket' has no field 'hour'"),
    ]


def test_view_on_an_installed_entity() -> None:
    view = ListView("accounts", "account", "Accounts", ("name", "nam"))
    assert run(check_views, scope(views=[view], installed=CRM)) == [
        ("views/accounts.json", "$.columns[1]", "entity 'account' has no field 'nam'"),
    ]


def test_second_default_view_of_an_entity() -> None:
    views = [ListView(name, "ticket", name, ("subject",), default=True) for name in ("one", "two")]
    views.append(ListView("three", "customer", "three", ("name",), default=True))
    assert run(check_views, scope(entities=[TICKET, CUSTOMER], views=views)) == [
        ("views/two.json", "$.default", "entity 'ticket' already has a default view"),
    ]


# -- workflows --------------------------------------------------------------------------------

def flow(**changes: Any) -> Workflow:
    values: dict[str, Any] = {
        "name": "ticket_flow", "entity": "ticket", "field": "status", "label": "Flow", "initial": "open",
        "states": (WorkflowState("open", "Open"), WorkflowState("pending", "Pending"),
                   WorkflowState("closed", "Closed", True)),
        "transitions": (Transition("wait", "Wait", ("open",), "pending", roles=("agent",)),
                        Transition("close", "Close", ("open", "pending"), "closed", requires=("hours",))),
    }
    return Workflow(**{**values, **changes})


def workflow_problems(workflow: Workflow, entities: tuple = (TICKET,), **details: Any) -> Found:
    details.setdefault("roles", [Role("agent", "Agent", ())])
    return run(check_workflows, scope(entities=entities, workflows=[workflow], **details))


def test_valid_workflow() -> None:
    assert workflow_problems(flow()) == []


def test_workflow_roles_may_come_from_installed_packs() -> None:
    installed = installed_pack("crm", "1.0.0", roles=(Role("agent", "Agent", ()),))
    assert workflow_problems(flow(), roles=[], installed=installed) == []


def test_workflow_on_an_unknown_entity() -> None:
    problem = only(check_workflows, scope(entities=[TICKET], workflows=[flow(entity="tickt")]))
    assert (problem.file, problem.path, problem.message) == (
        "workflows/ticket_flow.json", "$.entity", "workflow 'ticket_flow' is on unknown entity 'tickt'",
    )
    assert (problem.hint, problem.code) == ("did you mean 'ticket'?", "unknown_entity")


def test_workflow_on_an_unbuilt_entity_or_broken_field_is_not_checked_further() -> None:
    assert workflow_problems(flow(entity="case"), unbuilt_entities=frozenset({"case"})) == []
    assert workflow_problems(flow(field="stage"), broken_fields={"ticket": frozenset({"stage"})}) == []


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"field": "stats"}, "$.field", "entity 'ticket' has no field 'stats'"),
        ({"field": "subject"}, "$.field", "a workflow needs a picklist field; 'subject' is text"),
    ],
)
def test_workflow_field(changes: dict, path: str, message: str) -> None:
    assert workflow_problems(flow(**changes)) == [("workflows/ticket_flow.json", path, message)]


def test_states_are_the_values_of_the_picklist() -> None:
    states = (WorkflowState("open", "Open"), WorkflowState("pendng", "Pending"), WorkflowState("closed", "Closed", True))
    found = list(check_workflows(scope(entities=[TICKET], workflows=[flow(states=states, transitions=(
        Transition("close", "Close", ("open",), "closed"),))])))
    assert [(p.path, p.message, p.severity) for p in found] == [
        ("$.states[1].name", "state 'pendng' is not a value of picklist 'ticket.status'", "error"),
        ("$.states", "picklist value 'pending' of 'ticket.status' is not a state", "warning"),
    ]
    assert (found[0].expected, found[0].hint) == ("one of open, pending, closed", "did you mean 'pending'?")
    assert found[1].hint == "records with this value would be stuck outside the workflow"


def test_initial_state_must_be_a_state() -> None:
    problem = only(check_workflows, scope(entities=[TICKET], workflows=[flow(initial="opn")], roles=[Role("agent", "A", ())]))
    assert (problem.path, problem.message, problem.hint) == (
        "$.initial", "initial state 'opn' is not one of the states", "did you mean 'open'?",
    )
    assert problem.expected == "one of open, pending, closed"


def test_initial_state_that_differs_from_the_fields_default_is_a_warning() -> None:
    ticket = entity("ticket", field("status", "picklist", options=options("open", "pending", "closed"), default="pending"),
                    field("hours", "decimal"))
    found = list(check_workflows(scope(entities=[ticket], workflows=[flow()], roles=[Role("agent", "A", ())])))
    assert [(p.path, p.message, p.severity) for p in found] == [
        ("$.initial", "initial state 'open' differs from the default 'pending' of 'ticket.status'", "warning"),
    ]


def test_transitions() -> None:
    transitions = (
        Transition("wait", "Wait", ("open", "opne"), "pending", roles=("agent", "agnet")),
        Transition("wait", "Again", ("closed",), "close", requires=("hours", "hour")),
    )
    assert workflow_problems(flow(transitions=transitions)) == [
        ("workflows/ticket_flow.json", "$.transitions[0].from[1]", "unknown state 'opne'"),
        ("workflows/ticket_flow.json", "$.transitions[0].roles[1]", "unknown role 'agnet'"),
        ("workflows/ticket_flow.json", "$.transitions[1].name", "transition 'wait' is declared twice"),
        ("workflows/ticket_flow.json", "$.transitions[1].from[0]", "state 'closed' is final: no transition leaves it"),
        ("workflows/ticket_flow.json", "$.transitions[1].to", "unknown state 'close'"),
        ("workflows/ticket_flow.json", "$.transitions[1].requires[1]", "entity 'ticket' has no field 'hour'"),
    ]


@pytest.mark.parametrize(
    ("index", "hint"),
    [(0, "did you mean 'open'?"), (1, "did you mean 'agent'?"), (3, "remove 'final' from the state, or this transition"),
     (4, "did you mean 'closed'?")],
)
def test_transition_hints(index: int, hint: str) -> None:
    transitions = (
        Transition("wait", "Wait", ("opne",), "pending", roles=("agnet",)),
        Transition("wait", "Again", ("closed",), "close"),
    )
    found = list(check_workflows(scope(entities=[TICKET], workflows=[flow(transitions=transitions)],
                                       roles=[Role("agent", "A", ())])))
    assert found[index].hint == hint


# -- roles ------------------------------------------------------------------------------------

def test_role_on_an_unknown_entity() -> None:
    role = Role("agent", "Agent", (EntityPermission("tiket", read=True), EntityPermission("ticket", read=True)))
    problem = only(check_roles, scope(entities=[TICKET], roles=[role]))
    assert (problem.file, problem.path, problem.message) == (
        "roles/agent.json", "$.permissions.tiket", "role 'agent' grants on unknown entity 'tiket'",
    )
    assert (problem.hint, problem.code, problem.found) == ("did you mean 'ticket'?", "unknown_entity", "tiket")


def test_role_on_an_unbuilt_or_installed_entity() -> None:
    role = Role("agent", "Agent", (EntityPermission("case"), EntityPermission("account", hidden_fields=("name",))))
    assert run(check_roles, scope(roles=[role], unbuilt_entities=frozenset({"case"}), installed=CRM)) == []


def test_role_field_lists_name_fields_of_the_entity() -> None:
    role = Role("agent", "Agent", (EntityPermission(
        "ticket", hidden_fields=("hours", "hour"), read_only_fields=("subjct", "broken"),
    ),))
    the_scope = scope(entities=[TICKET], roles=[role], broken_fields={"ticket": frozenset({"broken"})})
    assert run(check_roles, the_scope) == [
        ("roles/agent.json", "$.permissions.ticket.hidden_fields[1]", "entity 'ticket' has no field 'hour'"),
        ("roles/agent.json", "$.permissions.ticket.read_only_fields[0]", "entity 'ticket' has no field 'subjct'"),
    ]


# -- expressions ---------------------------------------------------------------------------------

def test_valid_expressions_have_no_problems() -> None:
    ticket = entity("ticket", field("subject"), field("hours", "decimal"),
                    field("double", "formula", expression="hours * 2", returns="decimal"),
                    validations=(ValidationRule("positive", "hours > 0", "Positive"),))
    the_scope = scope(entities=[ticket], views=[ListView("v", "ticket", "V", ("subject",), filter="hours > 1")])
    assert run(check_expressions, the_scope) == []


@pytest.mark.parametrize(
    ("where", "path"),
    [("validation", "$.validations[0].check"), ("formula", "$.fields[3].expression"), ("filter", "$.filter"),
     ("guard", "$.transitions[0].guard")],
)
def test_expression_problems_carry_file_path_line_and_column(where: str, path: str) -> None:
    bad = "subject is empty or subjet is empty"
    ticket = entity(
        "ticket", field("subject"), field("status", "picklist", options=options("open", "closed")), field("hours", "decimal"),
        *([field("f", "formula", expression=bad, returns="boolean")] if where == "formula" else []),
        validations=(ValidationRule("v", bad, "m"),) if where == "validation" else (),
    )
    view = ListView("v", "ticket", "V", ("subject",), filter=bad if where == "filter" else None)
    workflow = Workflow("w", "ticket", "status", "W", "open", (WorkflowState("open", "O"), WorkflowState("closed", "C")),
                        (Transition("close", "Close", ("open",), "closed", guard=bad if where == "guard" else None),))
    [problem] = check_expressions(scope(entities=[ticket], views=[view], workflows=[workflow]))
    file = {"filter": "views/v.json", "guard": "workflows/w.json"}.get(where, "entities/ticket.json")
    assert (problem.file, problem.path, problem.line, problem.column) == (file, path, 1, 21)
    assert problem.code == "expression"
    assert "subjet" in problem.message
    assert problem.hint == "did you mean 'subject'?"
    assert problem.excerpt.splitlines() == [bad, " " * 20 + "^"]


@pytest.mark.parametrize("condition", ["visible_when", "required_when"])
def test_field_conditions_are_checked_with_their_path(condition: str) -> None:
    ticket = entity("ticket", field("subject"), field("hours", "decimal", **{condition: "subjet = 'x'"}))
    [problem] = check_expressions(scope(entities=[ticket]))
    assert (problem.path, problem.line, problem.column) == (f"$.fields[1].{condition}", 1, 1)
    assert problem.hint == "did you mean 'subject'?"
    numeric = entity("ticket", field("subject"), field("hours", "decimal", **{condition: "hours + 1"}))
    [not_boolean] = check_expressions(scope(entities=[numeric]))
    assert not_boolean.path == f"$.fields[1].{condition}"


def test_conditions_must_be_boolean() -> None:
    ticket = entity("ticket", field("hours", "decimal"), validations=(ValidationRule("v", "hours + 1", "m"),))
    [problem] = check_expressions(scope(entities=[ticket]))
    assert problem.path == "$.validations[0].check"


def test_filters_of_views_on_unknown_entities_are_not_checked() -> None:
    assert run(check_expressions, scope(views=[ListView("v", "nothing", "V", ("a",), filter="nonsense > 1")])) == []


# -- the whole run -----------------------------------------------------------------------------------

def test_cross_check_runs_every_check_in_order() -> None:
    the_scope = scope(
        manifest={"depends_on": {"p": "*"}},
        entities=[entity("in", field("title"), display_field="titel")],
        views=[ListView("v", "in", "V", ("titel",))],
    )
    assert [(p.path, p.message) for p in cross_check(the_scope)] == [
        ("$.depends_on.p", "a pack cannot depend on itself"),
        ("$.name", "'in' is a keyword of the expression language and cannot be used as a name"),
        ("$.display_field", "entity 'in' has no field 'titel'"),
        ("$.columns[0]", "entity 'in' has no field 'titel'"),
    ]


def test_while_a_dependency_is_missing_only_near_misses_of_unknown_entities_are_reported() -> None:
    the_scope = scope(
        manifest={"depends_on": {"crm": ">=1.0"}},
        entities=[entity("ticket", field("account", "lookup", target="account"), field("cust", "lookup", target="tiket"))],
        views=[ListView("accounts", "account", "A", ("name",))],
        roles=[Role("agent", "Agent", (EntityPermission("account"),))],
    )
    assert [(p.file, p.path, p.message) for p in cross_check(the_scope)] == [
        ("pack.json", "$.depends_on.crm", "this pack needs pack 'crm', which is not installed"),
        ("entities/ticket.json", "$.fields[1].target", "lookup 'cust' points to unknown entity 'tiket'"),
    ]


def test_without_a_missing_dependency_unknown_entities_are_all_reported() -> None:
    the_scope = scope(
        entities=[entity("ticket", field("account", "lookup", target="account"))],
        views=[ListView("accounts", "account", "A", ("name",))],
    )
    assert [p.code for p in cross_check(the_scope)] == ["unknown_entity", "unknown_entity"]


def test_entities_of_installed_packs_are_visible_only_through_depends_on() -> None:
    ticket = entity("ticket", field("subject"), Field("customer", "lookup", "Customer", target="account"))
    undeclared = scope(entities=[ticket], installed=CRM, manifest={"name": "p", "version": "1.0", "label": "P"})
    [problem] = cross_check(undeclared)
    assert (problem.path, problem.code) == ("$.fields[1].target", "undeclared_dependency")
    assert problem.hint == "entity 'account' belongs to pack 'crm': add \"crm\" to depends_on in pack.json"
    assert cross_check(scope(entities=[ticket], installed=CRM)) == []
