"""One form control per field type: how a stored value shows in it, what it posts back, what it offers.

Widgets are rows in a registry keyed by field type (``register_widget``), so a
new field type brings its control with one registration; an unknown type gets a
text input.  Posted text goes to the record service as typed: the field types
coerce it, so the form and the API accept the same input.  One exception:
``datetime-local`` has no time zone: the form shows and reads it in the reader's zone.

    >>> WIDGETS["datetime"].read(FormData([("due", "2026-06-01T09:30")]), "due")
    '2026-06-01T09:30:00+00:00'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from starlette.datastructures import FormData

from xrm.context import Actor
from xrm.metadata.model import Field
from xrm.runtime.permissions import entity_access, scope_condition
from xrm.runtime.record_model import RecordModel
from xrm.ui.display import Names, display_text, is_empty, zone_info

#: A lookup offers a list of its target's records up to this many; beyond, a box for the id.
MAX_CHOICES = 200


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


class Choices:
    """What picklists, lookups and user fields offer, for one reader (fetched on demand)."""

    def __init__(self, connection: Connection, model: RecordModel, actor: Actor) -> None:
        self.connection, self.model, self.actor = connection, model, actor
        self.names = Names(connection, model, actor)

    def options(self, field: Field, current: Any) -> tuple[Choice, ...] | None:
        kept = set(current) if isinstance(current, list) else {current}
        return tuple(Choice(o.value, o.label) for o in field.options if o.active or o.value in kept)

    def users(self, field: Field, current: Any) -> tuple[Choice, ...] | None:
        table = self.model.users_table
        rows = self.connection.execute(select(table.c.id, table.c.display_name, table.c.is_active)
                                       .order_by(table.c.display_name)).all()
        return tuple(Choice(str(r.id), r.display_name or f"User #{r.id}") for r in rows
                     if r.is_active or str(r.id) == str(current))

    def records(self, field: Field, current: Any) -> tuple[Choice, ...] | None:
        """Up to ``MAX_CHOICES`` readable records of the target by name; None when there are more."""
        target = self.model.target_of(field)
        access = entity_access(self.model.catalog, self.actor, target)
        if not access.allows("read"):
            return None
        entity, table = self.model.entity(target), self.model.table(target)
        shown = entity.field(entity.display_field) if access.can_read_field(entity.display_field) else None
        columns = [table.c.id] + ([table.c[shown.name]] if shown is not None else [])
        statement = select(*columns).order_by(*columns[1:], table.c.id).limit(MAX_CHOICES + 1)
        scope = scope_condition(access.read, table, self.actor)  # type: ignore[arg-type]
        if scope is not None:
            statement = statement.where(scope)
        rows = self.connection.execute(statement).all()
        if len(rows) > MAX_CHOICES:
            return None
        choices = [Choice(str(r[0]), _name(shown, r, entity.label)) for r in rows]
        if not is_empty(current) and all(c.value != str(current) for c in choices):
            self.names.want(field, current)  # kept, named as the reader may see it
            choices.insert(0, Choice(str(current), self.names.cell(field, current).text))
        return tuple(choices)


def _name(shown: Field | None, row: Any, label: str) -> str:
    if shown is None or is_empty(row[1]):
        return f"{label} #{row[0]}"
    return display_text(shown, row[1])


def _text(value: Any, zone: str = "UTC") -> str:
    return "" if value is None else str(value)


def _local_time(value: Any, zone: str = "UTC") -> str:
    if isinstance(value, datetime):
        return value.astimezone(zone_info(zone)).strftime("%Y-%m-%dT%H:%M")
    return _text(value)


def _checked(value: Any, zone: str = "UTC") -> str:
    return "true" if value is True else ""


def _values(value: Any, zone: str = "UTC") -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else ([] if is_empty(value) else [str(value)])


def _one(form: FormData, name: str, zone: str = "UTC") -> Any:
    return form.get(name, "")


def _in_zone(form: FormData, name: str, zone: str = "UTC") -> Any:
    """A ``datetime-local`` value as the instant it names in ``zone`` (other text is left to the field type).

    >>> _in_zone(FormData([("due", "2026-06-01T09:30")]), "due", "Europe/Berlin")
    '2026-06-01T09:30:00+02:00'
    """
    text = str(form.get(name, "")).strip()
    if len(text) == len("2026-06-01T09:30") and "T" in text:
        try:
            return datetime.fromisoformat(text).replace(tzinfo=zone_info(zone)).isoformat()
        except ValueError:
            return text
    return text


def _box(form: FormData, name: str, zone: str = "UTC") -> Any:
    return "true" if form.get(name) else "false"


def _many(form: FormData, name: str, zone: str = "UTC") -> Any:
    return form.getlist(name)


@dataclass(frozen=True)
class Widget:
    """A field type's form control: the template's ``control`` and how values go in and out of it."""

    control: str  # input, textarea, checkbox, select, multiselect
    input_type: str = "text"
    step: str | None = None
    #: the stored value as the control shows it to a reader in a time zone (a list for multiselect)
    show: Callable[[Any, str], Any] = _text
    #: the posted value as the record service takes it (times typed in the reader's zone)
    read: Callable[[FormData, str, str], Any] = _one
    #: what a select offers (None: a text input instead, e.g. too many records)
    choices: Callable[[Choices, Field, Any], tuple[Choice, ...] | None] | None = None


TEXT = Widget("input")
WIDGETS: dict[str, Widget] = {}


def register_widget(field_type: str, widget: Widget) -> None:
    """Give ``field_type`` its form control; each type has one."""
    assert field_type not in WIDGETS, f"field type '{field_type}' has a widget already"
    WIDGETS[field_type] = widget


def widget_for(field: Field) -> Widget:
    return WIDGETS.get(field.type, TEXT)


for _type, _widget in {
    "text": TEXT,
    "email": Widget("input", "email"),
    "url": Widget("input", "url"),
    "phone": Widget("input", "tel"),
    "long_text": Widget("textarea"),
    "integer": Widget("input", "number", step="1"),
    "decimal": Widget("input", "number", step="any"),
    "currency": Widget("input", "number", step="any"),
    "percent": Widget("input", "number", step="any"),
    "date": Widget("input", "date"),
    "datetime": Widget("input", "datetime-local", show=_local_time, read=_in_zone),
    "duration": Widget("input", "text"),
    "boolean": Widget("checkbox", show=_checked, read=_box),
    "picklist": Widget("select", choices=Choices.options),
    "multi_picklist": Widget("multiselect", show=_values, read=_many, choices=Choices.options),
    "lookup": Widget("select", choices=Choices.records),
    "user": Widget("select", choices=Choices.users),
}.items():
    register_widget(_type, _widget)


def form_values(fields: list[Field], record: Mapping[str, Any], zone: str = "UTC") -> dict[str, Any]:
    """Stored values as the controls show them to a reader in ``zone``."""
    return {f.name: widget_for(f).show(record.get(f.name), zone) for f in fields}


def posted_values(fields: list[Field], form: FormData, zone: str = "UTC") -> dict[str, Any]:
    """What the controls of ``fields`` posted, as the record service takes it (times typed in ``zone``)."""
    return {f.name: widget_for(f).read(form, f.name, zone) for f in fields}
