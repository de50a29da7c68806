"""Choice field types: boolean, picklist, multi_picklist."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, String

from xrm.metadata.fieldtypes import DefinitionProblem, FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field, PicklistOption

STATUS_OPTIONS = (
    PicklistOption("new", "New", 1),
    PicklistOption("in_progress", "In progress", 2),
    PicklistOption("closed", "Closed", 3),
    PicklistOption("archived", "Archived", 4, active=False),
)
# Options declared out of alphabetical order, so "options' order" is visible.
COLOUR_OPTIONS = (
    PicklistOption("red", "Red", 1),
    PicklistOption("green", "Green", 2),
    PicklistOption("blue", "Blue", 3),
    PicklistOption("beige", "Beige", 4, active=False),
)


def make_field(type_name: str, **attributes: Any) -> Field:
    if type_name in ("picklist", "multi_picklist"):
        attributes.setdefault("options", STATUS_OPTIONS if type_name == "picklist" else COLOUR_OPTIONS)
    return Field(name="f", type=type_name, label="F", **attributes)


def coerce(type_name: str, value: Any, **attributes: Any) -> Any:
    return get_field_type(type_name).coerce(value, make_field(type_name, **attributes))


def coerce_error(type_name: str, value: Any, **attributes: Any) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        coerce(type_name, value, **attributes)
    return info.value


def validate_code(type_name: str, value: Any) -> str | None:
    error = get_field_type(type_name).validate(value, make_field(type_name))
    return error and error.code


@pytest.mark.parametrize("type_name", ["boolean", "picklist", "multi_picklist"])
@pytest.mark.parametrize("blank", [None, "", " "])
def test_blank_input_is_none(type_name: str, blank: Any) -> None:
    assert coerce(type_name, blank) is None


@pytest.mark.parametrize(
    ("type_name", "column_class", "value_type", "indexable"),
    [
        ("boolean", Boolean, "boolean", True),
        ("picklist", String, "text", True),
        ("multi_picklist", JSON, "list", False),
    ],
)
def test_column_value_type_and_indexable(type_name: str, column_class: type, value_type: str, indexable: bool) -> None:
    field_type, field = get_field_type(type_name), make_field(type_name)
    column = field_type.column_type(field)
    assert isinstance(column, column_class)
    assert field_type.value_type_of(field) == value_type
    assert field_type.indexable is indexable


def test_picklist_column_is_string_63() -> None:
    assert get_field_type("picklist").column_type(make_field("picklist")).length == 63


def test_boolean_column_has_no_check_constraint() -> None:
    assert get_field_type("boolean").column_type(make_field("boolean")).create_constraint is False


# --- boolean -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, True), (False, False), (1, True), (0, False),
        ("true", True), ("Yes", True), (" Y ", True), ("1", True), ("ON", True),
        ("false", False), ("no", False), ("N", False), ("0", False), ("off", False),
    ],
)
def test_boolean_coerce_words(value: Any, stored: bool) -> None:
    assert coerce("boolean", value) is stored


@pytest.mark.parametrize("value", [2, -1, 1.0, "maybe", "si", "t", "yess", [True]])
def test_boolean_coerce_refuses(value: Any) -> None:
    error = coerce_error("boolean", value)
    assert error.code == "type"
    assert error.message == f"expected yes or no (true/false), found {value!r}"


@pytest.mark.parametrize(("value", "shown"), [(True, "Yes"), (False, "No"), (None, "")])
def test_boolean_display(value: Any, shown: str) -> None:
    assert get_field_type("boolean").display(value, make_field("boolean")) == shown


def test_boolean_json_schema_and_summary() -> None:
    field_type = get_field_type("boolean")
    assert field_type.json_schema(make_field("boolean")) == {"type": "boolean"}
    assert field_type.summary(make_field("boolean", default="yes")) == "default Yes"


# --- picklist ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("new", "new"),
        ("  closed ", "closed"),
        ("New", "new"),  # label
        ("IN PROGRESS", "in_progress"),  # label, any case
        ("in progress", "in_progress"),
        ("archived", "archived"),  # inactive options still coerce; validate reports them
        ("Archived", "archived"),
    ],
)
def test_picklist_coerce_value_or_label(value: str, stored: str) -> None:
    assert coerce("picklist", value) == stored


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("nwe", "not_in_picklist", "'nwe' is not one of new, in_progress, closed; did you mean 'new'?"),
        ("pending", "not_in_picklist", "'pending' is not one of new, in_progress, closed"),
        ("NEW_", "not_in_picklist", "'NEW_' is not one of new, in_progress, closed"),
        (3, "type", "expected one of the picklist values, found 3"),
        (["new"], "type", "expected one of the picklist values, found ['new']"),
    ],
)
def test_picklist_coerce_refuses(value: Any, code: str, message: str) -> None:
    error = coerce_error("picklist", value)
    assert (error.code, error.message) == (code, message)


@pytest.mark.parametrize(("value", "code"), [("new", None), ("closed", None), ("archived", "inactive_choice")])
def test_picklist_validate_inactive(value: str, code: str | None) -> None:
    assert validate_code("picklist", value) == code


def test_inactive_choice_message_uses_the_label() -> None:
    error = get_field_type("picklist").validate("archived", make_field("picklist"))
    assert error.message == "'Archived' is no longer an available choice"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("in_progress", "In progress"), ("archived", "Archived"), ("gone", "gone"), (None, "")],
)
def test_picklist_display_label(value: Any, shown: str) -> None:
    assert get_field_type("picklist").display(value, make_field("picklist")) == shown


def test_picklist_json_schema_lists_active_values() -> None:
    assert get_field_type("picklist").json_schema(make_field("picklist")) == {
        "type": "string",
        "enum": ["new", "in_progress", "closed"],
    }


@pytest.mark.parametrize(
    ("default", "summary"),
    [
        (None, "New, In progress, Closed"),
        ("new", "New, In progress, Closed (default New)"),
    ],
)
def test_picklist_summary_lists_active_labels(default: Any, summary: str) -> None:
    assert get_field_type("picklist").summary(make_field("picklist", default=default)) == summary


# --- multi_picklist ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (["blue", "red"], ["red", "blue"]),  # options' order, not input order
        (("green",), ["green"]),
        (["Blue", "red", "BLUE"], ["red", "blue"]),  # labels, duplicates collapse
        ("blue,red", ["red", "blue"]),
        ("blue; green", ["green", "blue"]),
        ("Blue , Red;green", ["red", "green", "blue"]),
        ("red,,;", ["red"]),
        ([], None),
        (",;", None),
        (["beige"], ["beige"]),
    ],
)
def test_multi_picklist_coerce(value: Any, stored: list[str] | None) -> None:
    assert coerce("multi_picklist", value) == stored


@pytest.mark.parametrize(
    ("value", "code"),
    [("red,purple", "not_in_picklist"), (["red", 1], "type"), ({"red": True}, "type"), (7, "type")],
)
def test_multi_picklist_coerce_refuses(value: Any, code: str) -> None:
    assert coerce_error("multi_picklist", value).code == code


def test_multi_picklist_unknown_value_hint() -> None:
    assert coerce_error("multi_picklist", "red,gren").message == "'gren' is not one of red, green, blue; did you mean 'green'?"


@pytest.mark.parametrize(
    ("value", "code"),
    [(["red", "blue"], None), (["red", "beige"], "inactive_choice"), (["beige"], "inactive_choice")],
)
def test_multi_picklist_validate_inactive(value: list[str], code: str | None) -> None:
    assert validate_code("multi_picklist", value) == code


@pytest.mark.parametrize(
    ("value", "shown"),
    [(["red", "blue"], "Red, Blue"), (["green", "gone"], "Green, gone"), ([], ""), (None, "")],
)
def test_multi_picklist_display(value: Any, shown: str) -> None:
    assert get_field_type("multi_picklist").display(value, make_field("multi_picklist")) == shown


def test_multi_picklist_json_schema() -> None:
    assert get_field_type("multi_picklist").json_schema(make_field("multi_picklist")) == {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "enum": ["red", "green", "blue"]},
    }


# --- check_definition ----------------------------------------------------------


def _problems(type_name: str, options: tuple[PicklistOption, ...]) -> list[DefinitionProblem]:
    field = make_field(type_name, options=options)
    entity = Entity(name="ticket", label="Ticket", plural_label="Tickets", pack="support", display_field="f", fields=(field,))
    return list(get_field_type(type_name).check_definition(field, entity, {"ticket": entity}))


@pytest.mark.parametrize("type_name", ["picklist", "multi_picklist"])
def test_distinct_picklist_values_have_no_problem(type_name: str) -> None:
    assert _problems(type_name, STATUS_OPTIONS) == []


@pytest.mark.parametrize("type_name", ["picklist", "multi_picklist"])
def test_duplicate_picklist_values_are_reported_where_they_repeat(type_name: str) -> None:
    options = (
        PicklistOption("open", "Open", 1),
        PicklistOption("done", "Done", 2),
        PicklistOption("open", "Open again", 3),
        PicklistOption("done", "Done twice", 4),
        PicklistOption("open", "Open thrice", 5),
    )
    problems = _problems(type_name, options)
    assert [(p.path, p.message, p.expected, p.found) for p in problems] == [
        (("options", 2, "value"), "picklist value 'open' is listed twice", "each value once", "open"),
        (("options", 3, "value"), "picklist value 'done' is listed twice", "each value once", "done"),
        (("options", 4, "value"), "picklist value 'open' is listed twice", "each value once", "open"),
    ]
