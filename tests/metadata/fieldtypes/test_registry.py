"""The field type registry: built-ins, duplicates, adding a type, unknown names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import SmallInteger
from sqlalchemy.types import TypeEngine

from xrm.errors import XrmError
from xrm.metadata.fieldtypes import (
    FieldType,
    FieldValueError,
    UnknownFieldType,
    field_type_names,
    field_types,
    get_field_type,
    register_field_type,
    unregister_field_type,
)
from xrm.metadata.fieldtypes.text import TextType
from xrm.metadata.model import Field

BUILT_IN = (
    "text", "long_text", "integer", "decimal", "currency", "percent", "boolean",
    "date", "datetime", "duration", "email", "phone", "url", "picklist",
    "multi_picklist", "lookup", "user", "formula", "autonumber",
)


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_type_is_registered_under_its_name(name: str) -> None:
    field_type = get_field_type(name)
    assert isinstance(field_type, FieldType)
    assert field_type.name == name
    assert field_type.label
    assert field_type.value_type


def test_names_and_instances_agree() -> None:
    names = field_type_names()
    assert len(names) == len(set(names))
    assert set(BUILT_IN) <= set(names)
    assert tuple(t.name for t in field_types()) == names


def test_unknown_name_raises_unknown_field_type() -> None:
    with pytest.raises(UnknownFieldType) as info:
        get_field_type("rating_stars")
    assert info.value.name == "rating_stars"
    assert isinstance(info.value, XrmError)
    assert "'rating_stars'" in str(info.value)


@pytest.mark.usefixtures("restore_field_types")
def test_duplicate_name_is_refused_and_keeps_the_first_registration() -> None:
    original = get_field_type("text")

    class AnotherText(TextType):
        pass

    with pytest.raises(ValueError, match="'text' is already registered by TextType"):
        register_field_type(AnotherText)
    assert get_field_type("text") is original


class RatingStarsType(FieldType):
    """One to five stars, typed as a number or as stars."""

    name = "rating_stars"
    label = "Rating"
    value_type = "integer"

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return SmallInteger()

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, str) and set(value.strip()) == {"★"}:
            return len(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise FieldValueError(f"expected 1 to 5 stars, found {value!r}", "type")

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        return None if 1 <= value <= 5 else FieldValueError(f"{value} is not 1 to 5 stars", "out_of_range")

    def display(self, value: Any, field: Field) -> str:
        return "" if value is None else "★" * value


@pytest.fixture
def rating_stars(restore_field_types: None) -> Iterator[FieldType]:
    registered = register_field_type(RatingStarsType)
    assert registered is RatingStarsType  # usable as a decorator
    try:
        yield get_field_type("rating_stars")
    finally:
        unregister_field_type("rating_stars")


def test_a_new_type_is_one_class_and_one_registration(rating_stars: FieldType) -> None:
    field = Field(name="satisfaction", type="rating_stars", label="Satisfaction")
    assert isinstance(rating_stars, RatingStarsType)
    assert "rating_stars" in field_type_names()
    assert isinstance(rating_stars.column_type(field), SmallInteger)
    assert rating_stars.coerce("★★★", field) == 3
    assert rating_stars.coerce("", field) is None  # blank handling comes from the base class
    assert rating_stars.validate(6, field).code == "out_of_range"
    assert rating_stars.validate(4, field) is None
    assert rating_stars.display(4, field) == "★★★★"
    assert rating_stars.json_schema(field) == {"type": "string"}  # the base default
    assert list(rating_stars.check_definition(field, None, {})) == []  # type: ignore[arg-type]


def test_unregister_removes_the_type(rating_stars: FieldType) -> None:
    unregister_field_type("rating_stars")
    assert "rating_stars" not in field_type_names()
    with pytest.raises(UnknownFieldType):
        get_field_type("rating_stars")


def test_unregistering_an_unknown_name_is_a_no_op() -> None:
    before = field_type_names()
    unregister_field_type("no_such_type")
    assert field_type_names() == before
