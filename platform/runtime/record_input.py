"""The first step of every write: input values checked and turned into stored values, field by field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xrm.context import Context
from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.identifiers import SYSTEM_COLUMNS
from xrm.metadata.model import Entity, Field, Workflow
from xrm.metadata.suggest import did_you_mean
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.record_logic import FieldError

#: Channels through which people type values; fields marked read-only in metadata refuse them.
PEOPLE_SOURCES = frozenset({"api", "ui"})
#: Channels that may set a workflow's state directly: imports bring records in the state they are already in.
STATE_SETTING_SOURCES = frozenset({"import"})


def count_text(items: Sequence[Any], noun: str) -> str:
    """``1 problem``, ``3 problems``."""
    return f"1 {noun}" if len(items) == 1 else f"{len(items)} {noun}s"


@dataclass(frozen=True)
class Input:
    """Input values turned into stored values, and the problems of those that could not be."""

    values: dict[str, Any]
    errors: tuple[FieldError, ...]


def coerce_input(context: Context, entity: Entity, access: EntityAccess, values: Mapping[str, Any], *,
                 creating: bool, workflows: Iterable[Workflow] = (), state_field: str | None = None,
                 current: Mapping[str, Any] | None = None) -> Input:
    """Input turned into stored values by field type, with every problem (the caller adds its own, then raises).

    Fields the actor may not change raise ``Forbidden`` at once (403 outranks 422).
    A workflow's state sent unchanged (a form posting every field back) is no change.

    Refused: system columns (except the owner: ``owner_id``, or ``owner_queue_id`` for a queue), unknown and hidden fields (alike,
    so hidden ones cannot be probed), computed fields, read-only fields typed by
    people, fields the actor's roles may not edit (403), and the state field of a
    workflow (changed only by ``state_field``'s transition, or by imports).
    """
    if not isinstance(values, Mapping):
        raise Invalid("the record must be a JSON object of field names and values")
    workflows = {w.field: w for w in workflows}
    result: dict[str, Any] = {}
    errors: list[FieldError] = []
    forbidden: list[FieldError] = []
    for name, raw in values.items():
        field = entity.field(name) if isinstance(name, str) else None
        if name in ("owner_id", "owner_queue_id"):
            result[name] = coerce_owner(raw, errors, name)
            continue
        if name in SYSTEM_COLUMNS:
            errors.append(FieldError(name, f"'{name}' is set by the platform and cannot be changed", "read_only"))
            continue
        if field is None or not access.can_read_field(name):
            hint = did_you_mean(str(name), [n for n in entity.field_names if access.can_read_field(n)])
            errors.append(FieldError(str(name), f"{entity.label} has no field '{name}'" + (f"; {hint}" if hint else ""),
                                     "unknown_field"))
            continue
        field_type = get_field_type(field.type)
        if field_type.computed:
            errors.append(FieldError(name, f"'{field.label}' is computed by the platform and cannot be set",
                                     "read_only"))
            continue
        if field.read_only and context.source in PEOPLE_SOURCES:
            errors.append(FieldError(name, f"'{field.label}' is read-only", "read_only"))
            continue
        if not access.can_edit_field(name):
            forbidden.append(FieldError(name, f"you may not change '{field.label}'", "not_permitted"))
            continue
        if name in workflows and name != state_field and context.source not in STATE_SETTING_SOURCES:
            workflow = workflows[name]
            unchanged = current is not None and raw == current.get(name)
            if not unchanged and not (creating and raw in (None, "", workflow.initial)):
                errors.append(FieldError(name, f"'{field.label}' follows the workflow '{workflow.label}': "
                                               + ("new records start in its initial state" if creating else
                                                  "change it by taking one of its transitions"), "workflow_field"))
            continue
        try:
            value = field_type.coerce(raw, field)
            if value is not None and (problem := field_type.validate(value, field)) is not None:
                raise problem
        except FieldValueError as error:
            errors.append(FieldError(name, error.message, error.code))
            continue
        result[name] = value
    if forbidden:
        raise Forbidden("you may not change some of these fields", forbidden)
    return Input(result, tuple(errors))

def coerce_owner(raw: Any, errors: list[FieldError], name: str = "owner_id") -> int | None:
    """An owner: a user id (``owner_id``) or a queue id (``owner_queue_id``)."""
    owner, user_type = Field(name, "user", "Owner"), get_field_type("user")
    try:
        value = user_type.coerce(raw, owner)
        if value is not None and (problem := user_type.validate(value, owner)) is not None:
            raise problem
    except FieldValueError as error:
        errors.append(FieldError(name, error.message, error.code))
        return None
    return value
