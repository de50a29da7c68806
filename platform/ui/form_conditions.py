"""Which fields of a form show now and which are required now, from their ``visible_when`` / ``required_when``.

The conditions are evaluated on the record as the form would save it: the
stored record with the typed values over it (a typed value that does not
coerce counts as empty).  Forms render the answer as a small style block that
hides fields whose condition does not hold (their values are kept and posted
all the same) and shows the asterisk of fields required now; with htmx, each
change re-evaluates it and swaps the block (``_form_conditions.html``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Entity
from xrm.runtime.record_logic import condition_answers
from xrm.ui.page_calls import PageCall


@dataclass(frozen=True)
class FormConditions:
    """The ids of the fields hidden now, and of the fields a condition makes required now."""

    hidden: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    #: whether the entity has any condition at all (no block is rendered otherwise)
    any: bool = False

    def is_hidden(self, name: str) -> bool:
        return name in self.hidden

    def is_required(self, name: str) -> bool:
        return name in self.required


def _coerced(entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, raw in values.items():
        field = entity.field(name)
        if field is None:
            continue
        try:
            result[name] = get_field_type(field.type).coerce(raw, field)
        except FieldValueError:
            result[name] = None
    return result


def form_conditions(call: PageCall, entity: Entity, record: Mapping[str, Any],
                    typed: Mapping[str, Any] | None) -> FormConditions:
    """The conditions' answers for ``record`` with the ``typed`` values over it (as the form would save it)."""
    logic = call.model.logic(entity.name)
    if not logic.visible_when and not logic.required_when:
        return FormConditions()
    current = {**record, **_coerced(entity, typed or {})}
    expanded = call.service.expand_lookups(call.connection, entity, current, logic.lookups)
    hidden, required = condition_answers(logic, expanded, {"now": call.context.now})
    return FormConditions(hidden=hidden, required=required, any=True)
