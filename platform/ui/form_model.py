"""A record form as plain data for the templates: which fields are controls, which are shown only, and the errors.

A field is a control when the reader may change it here: not computed, not
read-only in metadata, not read-only for their roles, and not a workflow's
state (that moves by transitions).  Fields the reader may not see are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.record_logic import FieldError
from xrm.runtime.workflows import workflows_of
from xrm.ui.display import Cell, Names
from xrm.ui.form_conditions import FormConditions
from xrm.ui.lookup_search import current_reference, resolve_reference
from xrm.ui.form_fields import Choice, Choices, form_values, posted_values, widget_for
from xrm.ui.page_calls import PageCall

NO_CONDITIONS = FormConditions()
#: Posted names that are the form's own, not fields of the record.
CONTROL_NAMES = frozenset({"csrf_token", "version", "_field"})


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    control: str  # input, textarea, checkbox, select, multiselect, or "shown" (read-only)
    input_type: str = "text"
    step: str | None = None
    value: Any = ""
    choices: tuple[Choice, ...] = ()
    required: bool = False
    hint: str | None = None
    errors: tuple[str, ...] = ()
    cell: Cell | None = None
    wide: bool = False
    #: shown or required only under a condition (its wrapper carries an id the conditions' style block targets)
    conditional: bool = False
    required_when: str | None = None

    @property
    def id(self) -> str:
        return f"f-{self.name}"

    @property
    def describedby(self) -> str:
        """The ids of the hint and of the error box (always there, so htmx can fill it)."""
        return " ".join([*([f"{self.id}-hint"] if self.hint else []), f"{self.id}-error"])

    def selected(self, value: str) -> bool:
        return value in self.value if isinstance(self.value, list) else value == str(self.value)


@dataclass(frozen=True)
class ErrorLink:
    href: str | None
    text: str


def editable_fields(call: PageCall, entity: Entity, access: EntityAccess,
                    only: Iterable[str] | None = None) -> list[Field]:
    """The fields the reader changes through controls (all of ``only`` when given, in its order)."""
    states = {w.field for w in workflows_of(call.model, entity.name)}
    fields = [entity.field(n) for n in only] if only is not None else list(entity.fields)
    return [f for f in fields if f is not None and not f.hidden and not get_field_type(f.type).computed
            and not f.read_only and access.can_edit_field(f.name) and f.name not in states]


def field_errors(errors: Sequence[FieldError]) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error.message)
    return found


def typed_values(fields: list[Field], form: FormData) -> dict[str, Any]:
    """What was typed, as the controls show it again."""
    return {f.name: form.getlist(f.name) if widget_for(f).control == "multiselect" else form.get(f.name, "")
            for f in fields}


def submitted(fields: list[Field], form: FormData, call: PageCall | None = None) -> dict[str, Any]:
    """The record values of a POST: the controls' values, plus any other posted name (refused by the service:
    a forged field is never dropped silently).  With ``call``, lookup boxes' names are resolved to ids."""
    extra = {k: form.get(k) for k in form if k not in CONTROL_NAMES and k not in {f.name for f in fields}}
    values = posted_values(fields, form, call.context.actor.time_zone if call is not None else "UTC")
    if call is not None:
        for field in fields:
            raw = values.get(field.name)
            if field.type == "lookup" and isinstance(raw, str) and raw.strip() and not raw.strip().isdigit():
                values[field.name] = resolve_reference(call, field, raw)
    return {**values, **extra}


def build_form(call: PageCall, entity: Entity, access: EntityAccess, record: Mapping[str, Any],
               values: Mapping[str, Any] | None, errors: Mapping[str | None, list[str]],
               only: Iterable[str] | None = None, conditions: FormConditions = NO_CONDITIONS) -> list[FormField]:
    """The form's fields: controls showing ``values`` (typed) or ``record`` (stored), the rest shown read-only."""
    editable = editable_fields(call, entity, access, only)
    shown = form_values(editable, record, call.context.actor.time_zone) if values is None else values
    chooser = Choices(call.connection, call.model, call.context.actor)
    names = Names(call.connection, call.model, call.context.actor)
    names.want_rows(entity.fields, [record])
    editable_names = {f.name for f in editable}
    fields = [entity.field(n) for n in only] if only is not None else list(entity.fields)
    result = []
    for field in fields:
        if field is None or field.hidden or not access.can_read_field(field.name):
            continue
        common = {"name": field.name, "label": field.label, "hint": field.help_text,
                  "errors": tuple(errors.get(field.name, ())), "wide": field.type == "long_text",
                  "conditional": bool(field.visible_when or field.required_when),
                  "required_when": field.required_when}
        if field.name not in editable_names:
            result.append(FormField(control="shown", cell=names.cell(field, record.get(field.name)), **common))
            continue
        widget = widget_for(field)
        value = shown.get(field.name, "")
        choices = widget.choices(chooser, field, record.get(field.name)) if widget.choices else None
        control = widget.control if widget.choices is None or choices is not None else "lookup"
        if control == "lookup":  # too many records for a select: a box taking a name or a number
            value = current_reference(call, field, record.get(field.name)) if values is None else value
        result.append(FormField(control=control, input_type=widget.input_type, step=widget.step, value=value,
                                choices=choices or (), required=control != "checkbox" and (
                                    field.required or conditions.is_required(field.name)), **common))
    return result


def error_links(fields: list[FormField], errors: Mapping[str | None, list[str]]) -> list[ErrorLink]:
    """The summary at the top: a link to each field in trouble, and the problems of no field."""
    by_name = {f.name: f for f in fields}
    links = []
    for name, messages in errors.items():
        field = by_name.get(name) if name else None
        for message in messages:
            links.append(ErrorLink(f"#{field.id}" if field else None,
                                   f"{field.label}: {message}" if field else message))
    return links
