"""Pack file JSON Schemas: the shipped files, the field schema completed from the registry, and the translation
of jsonschema errors into problems a consultant can act on."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import String

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from xrm.metadata.fieldtypes import FieldType, field_type_names, field_types, registry
from xrm.metadata.loader import KIND_FOLDERS
from xrm.metadata.schemas import (
    KINDS,
    clear_schema_cache,
    complete_field_schema,
    schema_errors,
    schema_problems,
    shipped_schema,
    validator_for,
)

SCHEMA_DIR = Path(str(resources.files("xrm.metadata").joinpath("schemas")))
SCHEMA_FILES = sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json"))
IDENTIFIER_EXPECTED = "a name of lowercase letters, digits and '_', starting with a letter, at most 63 characters"
NOT_A_NAME = "is not a valid name: use lowercase letters, digits and '_', starting with a letter (e.g. 'close_date')"
FILE = "entities/thing.json"


def entity(*fields: dict, **extra: Any) -> dict:
    return {"name": "thing", "label": "Thing", "fields": list(fields) or [{"name": "a", "type": "text"}], **extra}


def problems(kind: str, document: Any) -> list[tuple[str | None, str]]:
    return [(p.path, p.message) for p in schema_problems(kind, document, FILE)]


def only_problem(kind: str, document: Any):  # noqa: ANN201
    found = schema_problems(kind, document, FILE)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]




# -- the shipped schema files ------------------------------------------------

def test_every_kind_has_a_shipped_schema_file() -> None:
    assert sorted(("defs", *KINDS)) == SCHEMA_FILES


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_shipped_schema_is_a_valid_draft_2020_12_schema_with_its_urn(name: str) -> None:
    schema = shipped_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:xrm:schema:{name}"
    assert schema == json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "field"])
def test_top_level_objects_allow_a_dollar_schema_key_and_nothing_unknown(kind: str) -> None:
    schema = shipped_schema(kind)
    assert schema["additionalProperties"] is False
    assert "$schema" in schema["properties"]


def test_shipped_field_schema_leaves_types_to_the_registry() -> None:
    schema = shipped_schema("field")
    assert schema["properties"]["type"] == {"type": "string", "x-expected": "a field type name"}
    assert "allOf" not in schema and "unevaluatedProperties" not in schema


# -- the field schema completed from the registry ----------------------------

def test_complete_field_schema_lists_every_registered_type() -> None:
    schema = complete_field_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"] == {"enum": list(field_type_names()), "x-kind": "field_type"}
    assert schema["unevaluatedProperties"] is False
    assert [rule["if"]["properties"]["type"]["const"] for rule in schema["allOf"]] == list(field_type_names())


@pytest.mark.parametrize("field_type", field_types(), ids=field_type_names())
def test_complete_field_schema_adds_each_types_own_properties(field_type: FieldType) -> None:
    [rule] = [r for r in complete_field_schema()["allOf"] if r["if"]["properties"]["type"]["const"] == field_type.name]
    assert rule["if"]["required"] == ["type"]
    assert rule["then"] == {"properties": dict(field_type.options_schema), "required": list(field_type.required_options)}


def test_completing_does_not_change_the_shipped_schema() -> None:
    before = shipped_schema("field")
    complete_field_schema()["properties"]["name"]["changed"] = True
    assert shipped_schema("field") == before
    assert "changed" not in complete_field_schema()["properties"]["name"]


class _RatingType(FieldType):
    name = "rating"
    label = "Rating"
    value_type = "integer"
    options_schema = {"stars": {"type": "integer", "minimum": 1, "maximum": 10}}
    required_options = ("stars",)

    def column_type(self, field):  # noqa: ANN001, ANN201
        return String(10)


def test_a_registered_type_is_validated_once_the_cache_is_cleared(restore_field_types: None) -> None:
    document = entity({"name": "score", "type": "rating", "stars": 5})
    assert problems("entity", document) == [
        ("$.fields[0].stars", "unknown property 'stars'"), ("$.fields[0].type", "unknown field type 'rating'"),
    ]
    registry.register_field_type(_RatingType)
    clear_schema_cache()
    assert problems("entity", document) == []
    assert problems("entity", entity({"name": "score", "type": "rating"})) == [
        ("$.fields[0]", "missing property 'stars' for field type 'rating'"),
    ]
    assert problems("entity", entity({"name": "n", "type": "text", "stars": 3})) == [
        ("$.fields[0].stars", "property 'stars' does not apply to field type 'text'"),
    ]


def test_validators_are_cached_until_cleared(restore_field_types: None) -> None:
    first = validator_for("entity")
    assert validator_for("entity") is first
    clear_schema_cache()
    assert validator_for("entity") is not first


# -- documents that pass ------------------------------------------------------

PACK_ROOTS = (FIXTURES_DIR / "packs" / "tiny", *sorted(p for p in PACKS_DIR.iterdir() if p.is_dir()))
PACK_FILES = [
    pytest.param(KIND_FOLDERS.get(path.parent.name, "manifest"), path, id=f"{root.name}/{path.relative_to(root)}")
    for root in PACK_ROOTS
    for path in sorted(root.rglob("*.json"))
]


@pytest.mark.parametrize(("kind", "path"), PACK_FILES)
def test_files_of_valid_packs_pass_their_schema(kind: str, path: Path) -> None:
    assert problems(kind, json.loads(path.read_text(encoding="utf-8"))) == []


# -- translations ---------------------------------------------------------------

def test_unknown_property_lists_what_is_allowed_and_suggests_the_nearest() -> None:
    problem = only_problem("entity", entity({"name": "a", "type": "text", "lable": "A"}))
    assert (problem.file, problem.path, problem.message) == (FILE, "$.fields[0].lable", "unknown property 'lable'")
    assert problem.hint == "did you mean 'label'?"
    assert problem.found == "lable"
    # the common properties plus the text type's own
    assert problem.expected == ("one of default, description, help_text, hidden, indexed, label, max_length, name, "
                                "read_only, renamed_from, required, required_when, type, unique, visible_when")


def test_unknown_top_level_property() -> None:
    problem = only_problem("view", {"name": "v", "entity": "e", "label": "V", "columns": ["a"], "colums": ["b"]})
    assert (problem.path, problem.message, problem.hint) == (
        "$.colums", "unknown property 'colums'", "did you mean 'columns'?",
    )
    assert problem.expected == "one of $schema, columns, default, entity, filter, label, name, sort"


def test_unknown_property_without_a_near_miss_has_no_hint() -> None:
    assert only_problem("entity", entity(zzz=1)).hint is None


def test_property_of_another_field_type_names_the_types_that_use_it() -> None:
    problem = only_problem("entity", entity({"name": "a", "type": "text", "options": [{"value": "x"}]}))
    assert (problem.path, problem.message) == ("$.fields[0].options", "property 'options' does not apply to field type 'text'")
    assert problem.hint == "'options' is used by field types picklist, multi_picklist"
    assert problem.found == "options"


def test_property_of_another_type_is_not_reported_when_the_type_itself_is_unknown() -> None:
    problem = only_problem("entity", entity({"name": "a", "type": "picklst", "options": [{"value": "x"}]}))
    assert (problem.path, problem.message, problem.hint) == (
        "$.fields[0].type", "unknown field type 'picklst'", "did you mean 'picklist'?",
    )
    assert problem.expected == "one of " + ", ".join(field_type_names())
    assert problem.found == '"picklst"'


@pytest.mark.parametrize(
    ("field", "path", "message"),
    [
        ({"name": "a", "type": "lookup"}, "$.fields[0]", "missing property 'target' for field type 'lookup'"),
        ({"name": "a", "type": "picklist"}, "$.fields[0]", "missing property 'options' for field type 'picklist'"),
        ({"name": "a"}, "$.fields[0]", "missing property 'type'"),
    ],
)
def test_missing_property(field: dict, path: str, message: str) -> None:
    problem = only_problem("entity", entity(field))
    assert (problem.path, problem.message) == (path, message)
    assert problem.expected == f"the property '{message.split(chr(39))[1]}'"


@pytest.mark.parametrize(
    ("kind", "document", "path", "message", "expected", "found", "hint"),
    [
        ("view", {"name": "v", "entity": "e", "label": "V", "columns": ["a"], "sort": [{"field": "a", "direction": "dsc"}]},
         "$.sort[0].direction", '"dsc" is not an allowed value', "one of asc, desc", '"dsc"', "did you mean 'desc'?"),
        ("role", {"name": "r", "label": "R", "permissions": {"lead": {"scope": 3}}},
         "$.permissions.lead.scope", "3 is not an allowed value", "one of own, team, all", "3", None),
        ("entity", entity({"name": "a", "type": "formula", "expression": "1", "returns": "txt"}),
         "$.fields[0].returns", '"txt" is not an allowed value',
         "one of text, integer, decimal, currency, percent, boolean, date, datetime, duration", '"txt"',
         "did you mean 'text'?"),
    ],
)
def test_enum(kind: str, document: dict, path: str, message: str, expected: str, found: str, hint: str | None) -> None:
    problem = only_problem(kind, document)
    assert (problem.path, problem.message, problem.expected, problem.found, problem.hint) == (
        path, message, expected, found, hint,
    )


@pytest.mark.parametrize(
    ("document", "path", "message", "expected", "found"),
    [
        (entity(label=5), "$.label", "expected a string, found a number", "a string", "5"),
        (entity(fields={"a": 1}), "$.fields", "expected a list, found an object", "a list", '{"a": 1}'),
        (entity({"name": "a", "type": "text", "required": "yes"}), "$.fields[0].required",
         "expected true or false, found a string", "true or false", '"yes"'),
        (entity({"name": "a", "type": "text", "max_length": 1.5}), "$.fields[0].max_length",
         "expected a whole number, found a number", "a whole number", "1.5"),
        (entity(name=None), "$.name", "expected a string, found null", "a string", "null"),
        (entity(description=["x"]), "$.description", "expected a string, found a list", "a string", '["x"]'),
        (entity(fields=[True]), "$.fields[0]", "expected an object, found true/false", "an object", "true"),
        (entity(label="x" * 100) | {"fields": "y" * 100}, "$.fields", "expected a list, found a string", "a list",
         json.dumps("y" * 100)[:60]),
    ],
)
def test_type(document: dict, path: str, message: str, expected: str, found: str) -> None:
    problem = only_problem("entity", document)
    assert (problem.path, problem.message, problem.expected, problem.found) == (path, message, expected, found)


def test_document_that_is_not_an_object() -> None:
    problem = only_problem("workflow", [])
    assert (problem.path, problem.message) == ("$", "expected an object, found a list")


@pytest.mark.parametrize(
    ("kind", "document", "path", "message", "expected", "found"),
    [
        ("entity", entity(name="Thing"), "$.name", f"'Thing' {NOT_A_NAME}", IDENTIFIER_EXPECTED, '"Thing"'),
        ("entity", entity({"name": "2nd", "type": "text"}), "$.fields[0].name", f"'2nd' {NOT_A_NAME}",
         IDENTIFIER_EXPECTED, '"2nd"'),
        ("manifest", {"name": "p", "version": "1", "label": "P"}, "$.version", '"1" is not valid here',
         "a version like 1.0 or 1.2.3", '"1"'),
        ("manifest", {"name": "p", "version": "1.0", "label": "P", "rules": ["/etc/x.rules"]}, "$.rules[0]",
         '"/etc/x.rules" is not valid here', "a pattern inside the pack folder ending in .rules, e.g. rules/*.rules", '"/etc/x.rules"'),
        ("entity", entity({"name": "a", "type": "picklist", "options": [{"value": "x", "color": "red"}]}),
         "$.fields[0].options[0].color", '"red" is not valid here', "a colour like #1f77b4", '"red"'),
    ],
)
def test_pattern(kind: str, document: dict, path: str, message: str, expected: str, found: str) -> None:
    """Names get the identifier rules spelled out; other patterns say what was expected (x-expected when given)."""
    problem = only_problem(kind, document)
    assert (problem.path, problem.message, problem.expected, problem.found) == (path, message, expected, found)


def test_property_names_are_checked_as_identifiers() -> None:
    problem = only_problem("manifest", {"name": "p", "version": "1.0", "label": "P", "depends_on": {"Crm": ">=1"}})
    assert (problem.path, problem.message, problem.found) == ("$.depends_on", f"'Crm' {NOT_A_NAME}", '"Crm"')


@pytest.mark.parametrize(
    ("kind", "document", "path", "message", "expected"),
    [
        ("entity", entity(fields=[]), "$.fields", "[] is not allowed here: expected at least 1 item(s)", "at least 1 item(s)"),
        ("view", {"name": "v", "entity": "e", "label": "V", "columns": ["a", "a"]}, "$.columns",
         '["a", "a"] is not allowed here: expected each item once', "each item once"),
        ("entity", entity({"name": "a", "type": "text", "max_length": 5000}), "$.fields[0].max_length",
         "5000 is not allowed here: expected a value of at most 4000", "a value of at most 4000"),
        ("entity", entity({"name": "a", "type": "text", "max_length": 0}), "$.fields[0].max_length",
         "0 is not allowed here: expected a value of at least 1", "a value of at least 1"),
        ("entity", entity(label=""), "$.label", '"" is not allowed here: expected at least 1 character(s)',
         "at least 1 character(s)"),
        ("entity", entity(name="x" * 64), "$.name", f"'{'x' * 64}' is 64 characters long; names have at most 63",
         "at most 63 characters"),
    ],
)
def test_sizes(kind: str, document: dict, path: str, message: str, expected: str) -> None:
    problem = only_problem(kind, document)
    assert (problem.path, problem.message, problem.expected) == (path, message, expected)


def test_every_missing_property_is_reported() -> None:
    assert problems("workflow", {"name": "w"}) == [
        ("$", f"missing property '{name}'") for name in ("entity", "field", "label", "initial", "states", "transitions")
    ]


# -- order and raw paths ---------------------------------------------------------

def test_problems_come_in_document_order_with_list_indexes_compared_as_numbers() -> None:
    fields = [{"name": f"f{i}", "type": "text"} for i in range(12)]
    fields[10]["type"] = "txt"
    fields[2]["type"] = "bogus"
    fields[11]["required"] = "no"
    assert [path for path, _ in problems("entity", entity(*fields))] == [
        "$.fields[2].type", "$.fields[10].type", "$.fields[11].required",
    ]


def test_schema_errors_keep_the_raw_path_of_each_error() -> None:
    """An unknown property's raw path names the property, so validation can leave it out and build the rest."""
    document = entity({"name": "a", "type": "text", "lable": "A"}, {"name": "b", "type": "bogus"})
    found = schema_errors("entity", document, FILE)
    assert [(raw, problem.path) for raw, problem in found] == [
        (("fields", 0, "lable"), "$.fields[0].lable"),
        (("fields", 1, "type"), "$.fields[1].type"),
    ]


# -- known defects ---------------------------------------------------------------

def test_keys_of_an_object_come_in_document_order() -> None:
    document = {"name": "V", "entity": "E", "label": "View", "columns": ["a"]}
    assert [path for path, _ in problems("view", document)] == ["$.name", "$.entity"]


def test_over_long_label_is_told_the_label_limit() -> None:
    problem = only_problem("entity", entity(label="L" * 201))
    assert "63" not in problem.message
    assert "200" in problem.message


def test_over_long_autonumber_format_is_not_judged_as_a_name() -> None:
    problem = only_problem("entity", entity({"name": "a", "type": "autonumber", "format": "CASE-{0000}" + "x" * 35}))
    assert "lowercase" not in problem.message


def test_identifier_both_malformed_and_too_long_is_reported_once() -> None:
    assert len(problems("entity", entity(name="X" * 64))) == 1


class _ModeType(FieldType):
    name = "moded"
    label = "Moded"
    value_type = "text"
    options_schema = {"mode": {"const": "fixed"}}

    def column_type(self, field):  # noqa: ANN001, ANN201
        return String(10)


def test_const_violation_names_the_one_allowed_value(restore_field_types: None) -> None:
    registry.register_field_type(_ModeType)
    clear_schema_cache()
    problem = only_problem("entity", entity({"name": "a", "type": "moded", "mode": "loose"}))
    assert problem.path == "$.fields[0].mode"
    assert problem.expected == "fixed"


@pytest.mark.parametrize(("kind", "document", "path"), [
    ("manifest", {"name": "crm\n", "version": "1.0", "label": "CRM"}, "$.name"),
    ("manifest", {"name": "crm", "version": "1.0\n", "label": "CRM"}, "$.version"),
    ("entity", {"name": "lead", "label": "L", "fields": [{"name": "s", "type": "picklist", "options": [{"value": "new\n"}]}]},
     "$.fields[0].options[0].value"),
])
def test_patterns_refuse_a_trailing_newline(kind: str, document: dict, path: str) -> None:
    assert [p.path for p in schema_problems(kind, document, FILE)] == [path]
