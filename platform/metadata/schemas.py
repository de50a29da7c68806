"""The JSON Schemas of pack files, and validation that speaks like a colleague.

The schema files under ``schemas/`` are the contract.  The field schema is
completed at load time from the field type registry (each type adds its own
properties), so a new field type is one class and one registration.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

from xrm.metadata.fieldtypes import field_type_names, field_types, get_field_type
from xrm.metadata.fieldtypes.registry import generation as registry_generation
from xrm.metadata.identifiers import identifier_problem
from xrm.metadata.problems import JsonPath, PackProblem, format_json_path
from xrm.metadata.suggest import did_you_mean

#: Pack file kinds and their schema ids.
KINDS = ("manifest", "entity", "field", "view", "workflow", "role", "dashboard")


def _schema_uri(kind: str) -> str:
    return f"urn:xrm:schema:{kind}"


def shipped_schema(name: str) -> dict[str, Any]:
    """A schema file exactly as shipped (``name`` is e.g. ``"entity"``)."""
    text = resources.files("xrm.metadata").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


def complete_field_schema() -> dict[str, Any]:
    """The field schema with every registered type's own properties added."""
    schema = copy.deepcopy(shipped_schema("field"))
    schema["properties"]["type"] = {"enum": list(field_type_names()), "x-kind": "field_type"}
    schema["allOf"] = [
        {
            "if": {"properties": {"type": {"const": ft.name}}, "required": ["type"]},
            "then": {"properties": dict(ft.options_schema), "required": list(ft.required_options)},
        }
        for ft in field_types()
    ]
    schema["unevaluatedProperties"] = False  # only now that every type's properties are known
    return schema


def _registry() -> Registry:
    return _registry_for(registry_generation())


@cache
def _registry_for(generation: int) -> Registry:
    """The schema registry as of one generation of the field type registry."""
    resources_ = [
        (_schema_uri(name), Resource.from_contents(shipped_schema(name)))
        for name in ("defs", *KINDS) if name != "field"
    ]
    resources_.append((_schema_uri("field"), Resource.from_contents(complete_field_schema())))
    return Registry().with_resources(resources_)


def validator_for(kind: str) -> Draft202012Validator:
    """A validator for one pack file kind, rebuilt when a field type was registered since."""
    return _validator_for(kind, registry_generation())


@cache
def _validator_for(kind: str, generation: int) -> Draft202012Validator:
    registry = _registry_for(generation)
    return Draft202012Validator(registry.get_or_retrieve(_schema_uri(kind)).value.contents, registry=registry)


def clear_schema_cache() -> None:
    """Forget compiled schemas (they also follow the field type registry by themselves)."""
    _registry_for.cache_clear()
    _validator_for.cache_clear()


def schema_errors(kind: str, document: Any, file: str) -> list[tuple[JsonPath, PackProblem]]:
    """Every way ``document`` breaks the schema of ``kind``, in document order, with raw paths."""
    found: list[tuple[JsonPath, PackProblem]] = []
    seen: set[tuple[str | None, str]] = set()
    errors = sorted(validator_for(kind).iter_errors(document), key=lambda e: document_order(document, e.absolute_path))
    for error in errors:
        extra = error.validator in ("additionalProperties", "unevaluatedProperties")
        for problem in _translate(error, file):
            if (problem.path, problem.message) not in seen:  # one name can break a pattern and a length alike
                seen.add((problem.path, problem.message))
                raw = (*error.absolute_path, problem.found) if extra and problem.found else tuple(error.absolute_path)
                found.append((raw, problem))
    return found


def document_order(document: Any, path: Iterable[str | int]) -> list[int]:
    """Positions along ``path`` as they appear in the document (object keys in written order)."""
    positions, node = [], document
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            positions.append(keys.index(part) if part in keys else len(keys))
        else:
            positions.append(part if isinstance(part, int) else 0)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return positions


def schema_problems(kind: str, document: Any, file: str) -> list[PackProblem]:
    """Every way ``document`` breaks the schema of ``kind``, in document order."""
    return [problem for _, problem in schema_errors(kind, document, file)]


# -- turning jsonschema errors into problems a consultant can act on ---------

def _json_type(value: Any) -> str:
    return {
        dict: "an object", list: "a list", str: "a string", bool: "true/false",
        int: "a number", float: "a number", type(None): "null",
    }.get(type(value), type(value).__name__)


def _expected_type(schema_type: Any) -> str:
    names = {"object": "an object", "array": "a list", "string": "a string", "boolean": "true or false",
             "integer": "a whole number", "number": "a number", "null": "null"}
    if isinstance(schema_type, list):
        return " or ".join(names.get(t, t) for t in schema_type)
    return names.get(schema_type, str(schema_type))


def _problem(error: ValidationError, file: str, message: str, *, path=None, **details: Any) -> PackProblem:  # noqa: ANN001
    where = format_json_path(path if path is not None else error.absolute_path)
    return PackProblem(file, message, path=where, **details)


def _on_required(error: ValidationError, file: str) -> Iterator[PackProblem]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    owner = f" for field type '{instance.get('type')}'" if "allOf" in error.schema_path else ""
    for missing in (name for name in error.validator_value if name not in instance):
        yield _problem(error, file, f"missing property '{missing}'{owner}", expected=f"the property '{missing}'")


def _allowed_properties(error: ValidationError) -> set[str]:
    allowed = set(error.schema.get("properties", {}))
    instance = error.instance
    if error.validator == "unevaluatedProperties" and isinstance(instance, dict):
        type_name = instance.get("type")
        if isinstance(type_name, str) and type_name in field_type_names():
            allowed |= set(get_field_type(type_name).options_schema)
    return allowed


def _on_extra_properties(error: ValidationError, file: str) -> Iterator[PackProblem]:
    allowed = _allowed_properties(error)
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in instance:
        if key in allowed:
            continue
        owners = [ft.name for ft in field_types() if key in ft.options_schema]
        if error.validator == "unevaluatedProperties" and owners and instance.get("type") not in field_type_names():
            continue  # the unknown type is the problem, reported on its own
        if error.validator == "unevaluatedProperties" and owners:
            yield _problem(
                error, file, f"property '{key}' does not apply to field type '{instance.get('type')}'",
                path=[*error.absolute_path, key], found=key,
                hint=f"'{key}' is used by field types {', '.join(owners)}",
            )
            continue
        yield _problem(
            error, file, f"unknown property '{key}'", path=[*error.absolute_path, key],
            expected="one of " + ", ".join(sorted(allowed)), found=key, hint=did_you_mean(key, allowed),
        )


def _on_enum(error: ValidationError, file: str) -> Iterator[PackProblem]:
    allowed = [error.validator_value] if error.validator == "const" else error.validator_value
    options = [str(o) for o in allowed]
    found = error.instance
    if error.schema.get("x-kind") == "field_type":
        message = f"unknown field type '{found}'"
    else:
        message = f"{json.dumps(found)} is not an allowed value"
    expected = options[0] if error.validator == "const" else "one of " + ", ".join(options)
    yield _problem(
        error, file, message, expected=expected, found=json.dumps(found),
        hint=did_you_mean(found, options) if isinstance(found, str) else None,
    )


def _on_pattern(error: ValidationError, file: str) -> Iterator[PackProblem]:
    expected = error.schema.get("x-expected") or f"text matching {error.validator_value}"
    problem = identifier_problem(error.instance) if error.schema.get("x-kind") == "identifier" else None
    yield _problem(error, file, problem or f"{json.dumps(error.instance)} is not valid here",
                   expected=expected, found=json.dumps(error.instance))


def _on_type(error: ValidationError, file: str) -> Iterator[PackProblem]:
    yield _problem(error, file, f"expected {_expected_type(error.validator_value)}, found {_json_type(error.instance)}",
                   expected=_expected_type(error.validator_value), found=json.dumps(error.instance)[:60])


def _on_size(error: ValidationError, file: str) -> Iterator[PackProblem]:
    limits = {
        "minItems": f"at least {error.validator_value} item(s)",
        "maxItems": f"at most {error.validator_value} item(s)",
        "minLength": f"at least {error.validator_value} character(s)",
        "maxLength": f"at most {error.validator_value} characters",
        "minimum": f"a value of at least {error.validator_value}",
        "maximum": f"a value of at most {error.validator_value}",
        "uniqueItems": "each item once",
    }
    expected = limits[error.validator]
    is_name = error.schema.get("x-kind") == "identifier"
    if error.validator == "maxLength" and is_name and (problem := identifier_problem(error.instance)):
        yield _problem(error, file, problem, expected=expected)
        return
    found = json.dumps(error.instance)
    yield _problem(error, file, f"{found[:60]} is not allowed here: expected {expected}",
                   expected=expected, found=found[:60])


def _on_other(error: ValidationError, file: str) -> Iterator[PackProblem]:
    yield _problem(error, file, error.message)


_TRANSLATORS: dict[str, Callable[[ValidationError, str], Iterator[PackProblem]]] = {
    "required": _on_required,
    "additionalProperties": _on_extra_properties,
    "unevaluatedProperties": _on_extra_properties,
    "enum": _on_enum,
    "const": _on_enum,
    "pattern": _on_pattern,
    "type": _on_type,
    "minItems": _on_size,
    "maxItems": _on_size,
    "minLength": _on_size,
    "maxLength": _on_size,
    "minimum": _on_size,
    "maximum": _on_size,
    "uniqueItems": _on_size,
}


def _translate(error: ValidationError, file: str) -> Iterator[PackProblem]:
    if error.validator in ("if", "allOf"):
        return iter(())
    return _TRANSLATORS.get(str(error.validator), _on_other)(error, file)
