"""Schema-valid documents → the frozen dataclasses of the model, with the defaults a pack may leave out."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError

import pytest

from tests.conftest import FIXTURES_DIR
from xrm.metadata.builder import (
    build_entity,
    build_field,
    build_role,
    build_view,
    build_workflow,
    default_display_field,
    humanize,
)
from xrm.metadata.model import (
    EntityPermission,
    Field,
    Index,
    PicklistOption,
    SortKey,
    Transition,
    ValidationRule,
    WorkflowState,
)
from xrm.metadata.validation import validate_pack

TINY = FIXTURES_DIR / "packs" / "tiny"


@pytest.mark.parametrize(
    ("name", "label"),
    [("close_date", "Close date"), ("name", "Name"), ("a_b_c", "A b c"), ("x", "X"), ("vat_id2", "Vat id2")],
)
def test_humanize(name: str, label: str) -> None:
    assert humanize(name) == label


def test_field_with_only_name_and_type_gets_every_default() -> None:
    assert build_field({"name": "close_date", "type": "date"}) == Field(name="close_date", type="date", label="Close date")


def test_field_takes_every_property_it_is_given() -> None:
    doc = {
        "name": "amount", "type": "currency", "label": "Amount (EUR)", "required": True, "unique": True, "indexed": True,
        "read_only": True, "hidden": True, "default": "0", "help_text": "Net", "precision": 12, "scale": 3,
        "currency_code": "EUR",
    }
    field = build_field(doc)
    assert (field.label, field.required, field.unique, field.indexed, field.read_only, field.hidden) == (
        "Amount (EUR)", True, True, True, True, True,
    )
    assert (field.default, field.help_text, field.precision, field.scale, field.currency_code) == ("0", "Net", 12, 3, "EUR")


@pytest.mark.parametrize(
    ("doc", "attributes"),
    [
        ({"name": "c", "type": "lookup", "target": "account", "on_delete": "cascade"},
         {"target": "account", "on_delete": "cascade"}),
        ({"name": "t", "type": "text", "max_length": 40}, {"max_length": 40}),
        ({"name": "f", "type": "formula", "expression": "a + 1", "returns": "integer"},
         {"expression": "a + 1", "returns": "integer"}),
        ({"name": "n", "type": "autonumber", "format": "CASE-{0000}"}, {"format": "CASE-{0000}"}),
    ],
)
def test_type_specific_properties(doc: dict, attributes: dict) -> None:
    field = build_field(doc)
    assert {key: getattr(field, key) for key in attributes} == attributes


def test_picklist_options_default_their_label_and_order_and_are_sorted_by_order() -> None:
    field = build_field({"name": "stage", "type": "picklist", "options": [
        {"value": "late_stage", "order": 5}, {"value": "new"}, {"value": "won", "label": "Won!", "order": 0,
                                                                 "color": "#00ff00", "active": False},
    ]})
    assert field.options == (
        PicklistOption("won", "Won!", 0, "#00ff00", False),
        PicklistOption("new", "New", 1, None, True),  # its position in the list is its order
        PicklistOption("late_stage", "Late stage", 5, None, True),
    )


def test_options_with_the_same_order_keep_their_document_order() -> None:
    field = build_field({"name": "s", "type": "picklist", "options": [
        {"value": "b", "order": 1}, {"value": "a", "order": 1}, {"value": "c", "order": 0},
    ]})
    assert [o.value for o in field.options] == ["c", "b", "a"]


@pytest.mark.parametrize(
    ("types", "display"),
    [
        (["integer", "text", "email"], "f1"),
        (["integer", "email"], "f1"),
        (["date", "phone"], "f1"),
        (["url"], "f0"),
        (["integer", "autonumber"], "f1"),
        (["boolean", "picklist"], "f1"),
        (["integer", "long_text", "decimal"], "id"),
        (["lookup", "multi_picklist"], "id"),
    ],
)
def test_default_display_field_is_the_first_text_like_field(types: list[str], display: str) -> None:
    fields = tuple(Field(f"f{i}", t, f"F{i}") for i, t in enumerate(types))
    assert default_display_field(fields) == display


def entity_doc(**extra: object) -> dict:
    return {"name": "ticket", "label": "Ticket", "fields": [
        {"name": "number", "type": "integer"}, {"name": "subject", "type": "text"}, {"name": "owner2", "type": "user"},
    ], **extra}


def test_entity_defaults() -> None:
    entity = build_entity(entity_doc(), "service")
    assert (entity.name, entity.label, entity.plural_label, entity.pack) == ("ticket", "Ticket", "Tickets", "service")
    assert entity.display_field == "subject"
    assert (entity.indexes, entity.unique_together, entity.validations, entity.description) == ((), (), (), None)
    assert entity.field_names == ("number", "subject", "owner2")


def test_entity_takes_what_it_is_given() -> None:
    entity = build_entity(entity_doc(plural_label="Tickets (all)", display_field="number", description="A ticket"), "p")
    assert (entity.plural_label, entity.display_field, entity.description) == ("Tickets (all)", "number", "A ticket")


@pytest.mark.parametrize(
    ("declared", "built"),
    [
        ({"fields": ["subject"]}, Index("ix_ticket_subject", ("subject",), False)),
        ({"fields": ["subject", "number"]}, Index("ix_ticket_subject_number", ("subject", "number"), False)),
        ({"fields": ["number"], "unique": True}, Index("uq_ticket_number", ("number",), True)),
        ({"fields": ["number"], "unique": False}, Index("ix_ticket_number", ("number",), False)),
    ],
)
def test_entity_index_names_are_derived_from_prefix_table_and_fields(declared: dict, built: Index) -> None:
    assert build_entity(entity_doc(indexes=[declared]), "p").indexes == (built,)


def test_long_index_name_is_shortened_like_every_constraint_name() -> None:
    fields = ["a_rather_long_field_name", "another_rather_long_field_name"]
    [index] = build_entity(entity_doc(indexes=[{"fields": fields}]), "p").indexes
    assert len(index.name) == 63
    assert index.name.startswith("ix_ticket_a_rather_long_field_name_another_rather_lo")
    assert index.fields == tuple(fields)


def test_unique_together_and_validations() -> None:
    entity = build_entity(entity_doc(
        unique_together=[["number", "subject"]],
        validations=[{"name": "positive", "check": "number > 0", "message": "Must be positive"},
                     {"name": "short", "check": "len(subject) < 9", "message": "Too long", "fields": ["subject"]}],
    ), "p")
    assert entity.unique_together == (("number", "subject"),)
    assert entity.validations == (
        ValidationRule("positive", "number > 0", "Must be positive", ()),
        ValidationRule("short", "len(subject) < 9", "Too long", ("subject",)),
    )


def test_view() -> None:
    view = build_view({"name": "open", "entity": "ticket", "label": "Open", "columns": ["subject", "number"],
                       "filter": "number > 1", "sort": [{"field": "number", "direction": "desc"}, {"field": "subject"},
                                                        {"field": "id", "direction": "asc"}], "default": True})
    assert (view.name, view.entity, view.label, view.columns, view.filter, view.default) == (
        "open", "ticket", "Open", ("subject", "number"), "number > 1", True,
    )
    assert view.sort == (SortKey("number", True), SortKey("subject", False), SortKey("id", False))


def test_view_defaults() -> None:
    view = build_view({"name": "all", "entity": "ticket", "label": "All", "columns": ["subject"]})
    assert (view.filter, view.sort, view.default) == (None, (), False)


def test_workflow() -> None:
    flow = build_workflow({
        "name": "flow", "entity": "ticket", "field": "status", "label": "Flow", "initial": "new",
        "states": [{"name": "new"}, {"name": "in_progress", "label": "Working"}, {"name": "done", "final": True}],
        "transitions": [
            {"name": "start_work", "from": ["new"], "to": "in_progress"},
            {"name": "close", "label": "Close it", "from": ["new", "in_progress"], "to": "done", "guard": "number > 0",
             "roles": ["agent"], "requires": ["subject"]},
        ],
    })
    assert (flow.name, flow.entity, flow.field, flow.label, flow.initial) == ("flow", "ticket", "status", "Flow", "new")
    assert flow.states == (
        WorkflowState("new", "New", False), WorkflowState("in_progress", "Working", False),
        WorkflowState("done", "Done", True),
    )
    assert flow.transitions == (
        Transition("start_work", "Start work", ("new",), "in_progress"),
        Transition("close", "Close it", ("new", "in_progress"), "done", "number > 0", ("agent",), ("subject",)),
    )


def test_role_permissions_default_to_nothing_on_own_records() -> None:
    role = build_role({"name": "agent", "label": "Agent", "description": "Works cases", "permissions": {
        "ticket": {"read": True, "update": True, "scope": "team", "hidden_fields": ["number"],
                   "read_only_fields": ["subject"]},
        "queue": {},
    }})
    assert (role.name, role.label, role.description) == ("agent", "Agent", "Works cases")
    assert role.permissions == (
        EntityPermission("ticket", False, True, True, False, "team", ("number",), ("subject",)),
        EntityPermission("queue", False, False, False, False, "own", (), ()),
    )


def test_built_objects_are_frozen() -> None:
    entity = build_entity(entity_doc(), "p")
    with pytest.raises(FrozenInstanceError):
        entity.name = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        entity.fields[0].label = "other"  # type: ignore[misc]


def test_documents_read_back_from_json_build_the_same_objects() -> None:
    """The database stores the documents as JSON: building from the stored copy must give equal objects."""
    pack = validate_pack(TINY).raise_for_errors()
    for path in sorted((TINY / "entities").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        stored = json.loads(json.dumps(document))
        assert build_entity(stored, "tiny") == next(e for e in pack.entities if e.name == document["name"])


def test_field_description_and_a_registered_types_own_properties_reach_the_model(restore_field_types: None) -> None:
    from sqlalchemy import Integer

    from xrm.metadata.fieldtypes import FieldType, register_field_type
    from xrm.metadata.schemas import schema_problems

    @register_field_type
    class StarsType(FieldType):
        name = "stars"
        label = "Stars"
        value_type = "integer"
        options_schema = {"max_stars": {"type": "integer", "minimum": 1}}

        def column_type(self, field):  # noqa: ANN001, ANN202
            return Integer()

    doc = {"name": "rating", "type": "stars", "max_stars": 5, "description": "How good"}
    entity_doc = {"name": "review", "label": "Review", "fields": [doc]}
    assert schema_problems("entity", entity_doc, "entities/review.json") == []  # registered after earlier validations
    field = build_field(doc)
    assert (field.description, dict(field.settings)) == ("How good", {"max_stars": 5})
