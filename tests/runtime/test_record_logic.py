"""Defaults, formulas and validation rules computed from the bundled CRM pack's metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.conftest import PACKS_DIR
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import Entity, Field
from xrm.metadata.org import platform_catalog
from xrm.metadata.validation import validate_pack
from xrm.runtime.record_logic import (
    FieldError,
    apply_defaults,
    apply_formulas,
    compile_entity_logic,
    validation_errors,
)

CONTEXT = {"now": datetime(2026, 11, 23, 9, 0, tzinfo=UTC)}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    result = platform_catalog()
    for name in ("crm", "service"):
        result = result.with_pack(validate_pack(PACKS_DIR / name, result).raise_for_errors())
    return result


def test_defaults_fill_only_empty_fields(catalog: Catalog) -> None:
    opportunity = catalog.entities["opportunity"]
    record = apply_defaults(opportunity, {"name": "Big deal", "stage": "proposal", "probability": None})
    assert record["stage"] == "proposal"
    assert record["probability"] == Decimal("10.00")
    assert record["discount_percent"] == Decimal("0.00")


def test_formulas_are_computed_and_stored_as_their_result_type(catalog: Catalog) -> None:
    logic = compile_entity_logic(catalog.entities["opportunity"], catalog.entities)
    record, errors = apply_formulas(logic, {"amount": Decimal("1000.00"), "discount_percent": Decimal("12.50"),
                                            "probability": Decimal("33.33")}, CONTEXT)
    assert errors == []
    assert record["net_amount"] == Decimal("875.00")
    assert record["expected_revenue"] == Decimal("333.30")
    assert apply_formulas(logic, {}, CONTEXT)[0]["net_amount"] is None


def test_a_formula_result_its_column_cannot_hold_is_an_error() -> None:
    fields = (Field("x", "integer", "X"),
              Field("total", "formula", "Total", expression="x * 1000", returns="currency", precision=5, scale=2))
    entity = Entity("thing", "Thing", "Things", "p", "x", fields)
    record, errors = apply_formulas(compile_entity_logic(entity, {"thing": entity}), {"x": 1000}, CONTEXT)
    assert record["total"] is None
    assert [(e.field, e.code) for e in errors] == [("total", "out_of_range")]


def test_formula_over_datetimes_gives_a_duration(catalog: Catalog) -> None:
    case = catalog.entities["case"]
    logic = compile_entity_logic(case, catalog.entities)
    created = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    record, _ = apply_formulas(logic, {"created_at": created, "first_response_at": datetime(2026, 11, 23, 9, 30, tzinfo=UTC)},
                               CONTEXT)
    durations = {f.name: record[f.name] for f, _ in logic.formulas if f.returns == "duration"}
    assert 5400 in durations.values()


def test_formulas_reading_formulas_run_after_them() -> None:
    fields = (
        Field("a", "formula", "A", expression="b + 1", returns="integer"),
        Field("b", "formula", "B", expression="x * 2", returns="integer"),
        Field("x", "integer", "X"),
    )
    entity = Entity("thing", "Thing", "Things", "p", "x", fields)
    logic = compile_entity_logic(entity, {"thing": entity})
    assert [f.name for f, _ in logic.formulas] == ["b", "a"]
    assert apply_formulas(logic, {"x": 4}, CONTEXT) == ({"x": 4, "b": 8, "a": 9}, [])


def test_lookup_paths_the_caller_must_expand(catalog: Catalog) -> None:
    logic = compile_entity_logic(catalog.entities["campaign_member"], catalog.entities)
    assert set(logic.lookups) >= {"contact", "lead"}


def test_validation_rules_give_field_errors_all_at_once(catalog: Catalog) -> None:
    logic = compile_entity_logic(catalog.entities["opportunity"], catalog.entities)
    record = {"name": "x", "stage": "closed_won", "probability": Decimal("120"), "amount": None, "close_date": None}
    errors = validation_errors(logic, record, CONTEXT)
    fields = {e.field for e in errors}
    assert {"probability", "amount", "close_date"} <= fields
    assert all(isinstance(e, FieldError) and e.code.startswith("validation:") for e in errors)
    fine = {"name": "x", "stage": "prospecting", "probability": Decimal("20"), "amount": Decimal("5")}
    assert validation_errors(logic, fine, CONTEXT) == []
