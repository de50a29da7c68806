"""Reference field types: lookup and user."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import BigInteger
from sqlalchemy.dialects import postgresql, sqlite

from xrm.metadata.fieldtypes import DefinitionProblem, FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field
from xrm.metadata.sqltypes import RecordId

REFERENCES = ["lookup", "user"]


def make_field(type_name: str, **attributes: Any) -> Field:
    if type_name == "lookup":
        attributes.setdefault("target", "account")
    return Field(name="account_id", type=type_name, label="Account", **attributes)


def make_entity(name: str, *fields: Field) -> Entity:
    return Entity(name=name, label=name.title(), plural_label=name.title() + "s", pack="sales", display_field="name", fields=fields)


def coerce(type_name: str, value: Any) -> Any:
    return get_field_type(type_name).coerce(value, make_field(type_name))


def coerce_error(type_name: str, value: Any) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        coerce(type_name, value)
    return info.value


@pytest.mark.parametrize("type_name", REFERENCES)
@pytest.mark.parametrize("blank", [None, "", "  "])
def test_blank_input_is_none(type_name: str, blank: Any) -> None:
    assert coerce(type_name, blank) is None


@pytest.mark.parametrize("type_name", REFERENCES)
def test_column_is_record_id(type_name: str) -> None:
    column = get_field_type(type_name).column_type(make_field(type_name))
    assert column is RecordId
    assert isinstance(column, BigInteger)
    assert column.compile(dialect=postgresql.dialect()) == "BIGINT"
    # INTEGER on SQLite, so that a primary key is the auto-incrementing rowid
    assert column.compile(dialect=sqlite.dialect()) == "INTEGER"


@pytest.mark.parametrize("type_name", REFERENCES)
@pytest.mark.parametrize(
    ("value", "stored"),
    [(7, 7), ("7", 7), (" 42 ", 42), ({"id": 9, "display": "Acme"}, 9), ({"id": "12"}, 12)],
)
def test_coerce_record_id(type_name: str, value: Any, stored: int) -> None:
    assert coerce(type_name, value) == stored


@pytest.mark.parametrize("type_name", REFERENCES)
@pytest.mark.parametrize("value", [True, False, 7.0, "-7", "7a", "seven", {"display": "Acme"}, {"id": None}, [7]])
def test_coerce_refuses(type_name: str, value: Any) -> None:
    assert coerce_error(type_name, value).code == "type"


@pytest.mark.parametrize("type_name", REFERENCES)
def test_coerce_refuses_a_bool_inside_the_api_shape(type_name: str) -> None:
    assert coerce_error(type_name, {"id": True}).code == "type"


@pytest.mark.parametrize("type_name", REFERENCES)
@pytest.mark.parametrize(("value", "code"), [(1, None), (2**40, None), (0, "type"), (-3, "type")])
def test_validate_positive_id(type_name: str, value: int, code: str | None) -> None:
    error = get_field_type(type_name).validate(value, make_field(type_name))
    assert (error and error.code) == code


@pytest.mark.parametrize("type_name", REFERENCES)
def test_json_schema(type_name: str) -> None:
    assert get_field_type(type_name).json_schema(make_field(type_name)) == {"type": "integer", "format": "int64"}


@pytest.mark.parametrize(
    ("type_name", "attributes", "value_type"),
    [("lookup", {"target": "account"}, "ref:account"), ("lookup", {"target": "contact"}, "ref:contact"), ("user", {}, "ref:user")],
)
def test_value_type_names_the_target(type_name: str, attributes: dict[str, Any], value_type: str) -> None:
    assert get_field_type(type_name).value_type_of(make_field(type_name, **attributes)) == value_type


@pytest.mark.parametrize(
    ("type_name", "attributes", "target"),
    [
        ("lookup", {}, ("account", "SET NULL")),
        ("lookup", {"required": True}, ("account", "RESTRICT")),
        ("lookup", {"on_delete": "cascade"}, ("account", "CASCADE")),
        ("lookup", {"required": True, "on_delete": "cascade"}, ("account", "CASCADE")),
        ("lookup", {"target": "contact", "on_delete": "restrict"}, ("contact", "RESTRICT")),
        ("user", {}, ("xrm_users", "SET NULL")),
        ("user", {"required": True}, ("xrm_users", "RESTRICT")),
        ("user", {"on_delete": "restrict"}, ("xrm_users", "RESTRICT")),
    ],
)
def test_foreign_key_target(type_name: str, attributes: dict[str, Any], target: tuple[str, str]) -> None:
    assert get_field_type(type_name).foreign_key_target(make_field(type_name, **attributes)) == target


@pytest.mark.parametrize(
    ("attributes", "summary"),
    [
        ({}, "on delete: set null"),
        ({"required": True}, "on delete: restrict"),
        ({"target": "contact", "on_delete": "cascade"}, "on delete: cascade"),
    ],
)
def test_lookup_summary(attributes: dict[str, Any], summary: str) -> None:
    assert get_field_type("lookup").summary(make_field("lookup", **attributes)) == summary


def _lookup_problems(**attributes: Any) -> list[DefinitionProblem]:
    field = make_field("lookup", **attributes)
    opportunity = make_entity("opportunity", field)
    entities = {"opportunity": opportunity, "account": make_entity("account"), "contact": make_entity("contact")}
    return list(get_field_type("lookup").check_definition(field, opportunity, entities))


@pytest.mark.parametrize(
    "attributes",
    [{}, {"target": "contact"}, {"target": "opportunity"}, {"required": True}, {"required": True, "on_delete": "cascade"}, {"on_delete": "set_null"}],
)
def test_lookup_definition_without_problems(attributes: dict[str, Any]) -> None:
    assert _lookup_problems(**attributes) == []


def test_lookup_to_an_unknown_entity_suggests_a_near_name() -> None:
    [problem] = _lookup_problems(target="acount")
    assert problem.path == ("target",)
    assert problem.message == "lookup 'account_id' points to unknown entity 'acount'"
    assert problem.expected == "an entity of this pack or of a pack it depends on"
    assert problem.found == "acount"
    assert problem.hint == "did you mean 'account'?"
    assert problem.code == "unknown_entity"


def test_lookup_to_an_unrelated_name_has_no_hint() -> None:
    [problem] = _lookup_problems(target="invoice")
    assert problem.path == ("target",)
    assert problem.found == "invoice"
    assert problem.hint is None


def test_required_lookup_cannot_set_null() -> None:
    [problem] = _lookup_problems(required=True, on_delete="set_null")
    assert problem.path == ("on_delete",)
    assert problem.message == "required lookup 'account_id' cannot use on_delete 'set_null'"
    assert problem.expected == "'restrict' or 'cascade'"
    assert problem.found == "set_null"
    assert problem.hint is None


def test_lookup_reports_every_problem() -> None:
    problems = _lookup_problems(target="contacts", required=True, on_delete="set_null")
    assert [p.path for p in problems] == [("target",), ("on_delete",)]
    assert problems[0].hint == "did you mean 'contact'?"
