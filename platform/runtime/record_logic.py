"""What an entity's metadata computes on every write: defaults, formulas, validation rule errors.

The record service (one write path: coerce → defaults/formulas → validation →
rules → write → audit) calls these steps; each works on plain mappings and can
be tested alone.  Records hold lookups either as ids or, where an expression
follows a lookup (``account.industry``), as the related record's mapping —
``EntityLogic.lookups`` lists the paths the caller must expand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field, ValidationRule
from xrm.rules.expr import CheckedExpression, check_expression


@dataclass(frozen=True)
class FieldError:
    """A problem with a record, next to a field (``field`` None: the record as a whole)."""

    field: str | None
    message: str
    code: str


@dataclass(frozen=True)
class EntityLogic:
    """An entity's formulas (in the order they must run) and validation rules, compiled once."""

    entity: Entity
    formulas: tuple[tuple[Field, CheckedExpression], ...]
    validations: tuple[tuple[ValidationRule, CheckedExpression], ...]
    #: fields with a ``required_when`` condition, and the condition
    required_when: tuple[tuple[Field, CheckedExpression], ...] = ()
    #: fields with a ``visible_when`` condition (forms show them while it holds)
    visible_when: tuple[tuple[Field, CheckedExpression], ...] = ()

    @property
    def lookups(self) -> tuple[str, ...]:
        """Lookup paths the record must hold as nested mappings for these expressions."""
        every = (*self.formulas, *self.validations, *self.required_when, *self.visible_when)
        return tuple(sorted({p for _, checked in every for p in checked.lookups}))


def compile_entity_logic(entity: Entity, entities: Mapping[str, Entity]) -> EntityLogic:
    """Check and compile the entity's formulas and validations (pack validation already proved they check)."""
    formulas = {
        f.name: (f, check_expression(f.expression or "", entity, entities,
                                     expected=get_field_type(f.type).value_type_of(f)))
        for f in entity.fields if f.expression
    }
    validations = tuple(
        (rule, check_expression(rule.check, entity, entities, expected="boolean")) for rule in entity.validations
    )
    def conditions(attribute: str) -> tuple[tuple[Field, CheckedExpression], ...]:
        return tuple((f, check_expression(getattr(f, attribute), entity, entities, expected="boolean"))
                     for f in entity.fields if getattr(f, attribute))

    return EntityLogic(entity, tuple(formulas[name] for name in _formula_order(entity.name, formulas)), validations,
                       conditions("required_when"), conditions("visible_when"))


def _formula_order(entity: str, formulas: Mapping[str, tuple[Field, CheckedExpression]]) -> list[str]:
    """Formulas after the formulas of the same record they read (pack validation refuses loops)."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for target, field in sorted(formulas[name][1].fields_used):
            if target == entity and field in formulas and field != name:
                visit(field)
        ordered.append(name)

    for name in formulas:
        visit(name)
    return ordered


def apply_defaults(entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each empty field that has a default set to it (for new records)."""
    result = dict(values)
    for field in entity.fields:
        if field.default is not None and result.get(field.name) in (None, ""):
            result[field.name] = get_field_type(field.type).coerce(field.default, field)
    return result


def apply_formulas(
    logic: EntityLogic, record: Mapping[str, Any], context: Mapping[str, Any],
) -> tuple[dict[str, Any], list[FieldError]]:
    """``record`` with every formula computed and stored as its result type stores values.

    A result its column cannot hold (a currency beyond the field's digits) is
    an error on that formula field, never a silently emptied or clipped value.
    """
    result, errors = dict(record), []
    for field, checked in logic.formulas:
        try:
            result[field.name] = _as_stored(field, checked.python(result, context))
        except FieldValueError as error:
            result[field.name] = None
            errors.append(FieldError(field.name, f"the formula's result does not fit: {error.message}", error.code))
    return result, errors


def _as_stored(field: Field, value: Any) -> Any:
    """A formula's value as a column of its result type holds it (e.g. currency rounded to its scale)."""
    if value is None:
        return None
    result_type = get_field_type(field.type).result_type(field)
    stored = result_type.coerce(value, field)
    if stored is not None and (error := result_type.validate(stored, field)) is not None:
        raise error
    return stored


def validation_errors(logic: EntityLogic, record: Mapping[str, Any], context: Mapping[str, Any]) -> list[FieldError]:
    """One error per field named by each validation rule the record breaks (all rules, never the first only)."""
    errors: list[FieldError] = []
    for rule, checked in logic.validations:
        if checked.python(record, context) is not True:
            targets = rule.fields or (None,)
            errors += [FieldError(field, rule.message, f"validation:{rule.name}") for field in targets]
    return errors


def conditionally_required_errors(logic: EntityLogic, record: Mapping[str, Any], context: Mapping[str, Any],
                                  skip: set[str | None]) -> list[FieldError]:
    """An error for each empty field whose ``required_when`` holds (fields in ``skip`` already have one)."""
    return [
        FieldError(field.name, f"'{field.label}' is required when {field.required_when}", "required")
        for field, checked in logic.required_when
        if field.name not in skip and is_empty(record.get(field.name)) and checked.python(record, context) is True
    ]


def condition_answers(logic: EntityLogic, record: Mapping[str, Any],
                      context: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fields whose ``visible_when`` does not hold now (forms hide them), and those whose ``required_when`` does."""
    hidden = tuple(f.name for f, checked in logic.visible_when if checked.python(record, context) is not True)
    required = tuple(f.name for f, checked in logic.required_when if checked.python(record, context) is True)
    return hidden, required


def is_empty(value: Any) -> bool:
    """No value: null, empty text or an empty multi-select list."""
    return value is None or value == "" or value == []
