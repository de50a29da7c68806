"""Field values as people read them on a page: text, and a link where the value points somewhere.

Lookups and user fields name the record they point to (its display field),
fetched in one query per target entity and only within the reader's scope:
a record the reader may not see shows as ``#id``, without a link.  Every other
type is shown by its field type's ``display``; empty values show as an em dash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from xrm.context import Actor
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.fieldtypes.relation import USERS_TABLE
from xrm.metadata.model import Field
from xrm.runtime.permissions import entity_access, scope_condition
from xrm.runtime.record_logic import is_empty
from xrm.runtime.record_model import RecordModel

EMPTY_TEXT = "—"


@dataclass(frozen=True)
class Cell:
    """One value on a page: what to show and, for lookups, e-mails and web addresses, where it links to."""

    text: str
    href: str | None = None
    empty: bool = False


EMPTY = Cell(EMPTY_TEXT, empty=True)


def _web_link(value: Any) -> str | None:
    text = str(value)
    return text if text.lower().startswith(("https://", "http://")) else None  # never javascript: and friends


#: Field types whose values link somewhere outside the application.
LINKS: dict[str, Callable[[Any], str | None]] = {
    "email": lambda value: f"mailto:{value}",
    "phone": lambda value: f"tel:{value}",
    "url": _web_link,
}


@lru_cache(maxsize=256)
def zone_info(name: str) -> tzinfo:
    """The zone called ``name``, or UTC when there is none by that name (a user record is checked on save)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def when_text(at: datetime, zone: str = "UTC") -> str:
    """A moment as a person in ``zone`` reads it: ``2026-06-01 11:30 CEST``.

    >>> when_text(datetime(2026, 6, 1, 9, 30, tzinfo=UTC), "Europe/Berlin")
    '2026-06-01 11:30 CEST'
    """
    return at.astimezone(zone_info(zone)).strftime("%Y-%m-%d %H:%M %Z")


def display_text(field: Field, value: Any, zone: str = "UTC") -> str:
    """A stored value as text (times to the minute in ``zone``, the rest by its field type)."""
    if isinstance(value, datetime):
        return when_text(value, zone)
    return get_field_type(field.type).display(value, field)


class Names:
    """Display names of the records that lookup and user values point to, for one reader.

    Call ``want`` for every value first, then ``cell``: the names are fetched
    once, on the first ``cell``.
    """

    def __init__(self, connection: Connection, model: RecordModel, actor: Actor) -> None:
        self.connection, self.model, self.actor = connection, model, actor
        self._wanted: dict[str, set[int]] = {}
        self._names: dict[tuple[str, int], str] | None = None

    def target(self, field: Field) -> str | None:
        """The entity a lookup or user field points to (None for other fields)."""
        foreign = get_field_type(field.type).foreign_key_target(field)
        if foreign is None:
            return None
        return "user" if foreign[0] == USERS_TABLE else self.model.target_of(field)

    def want(self, field: Field, value: Any) -> None:
        target = self.target(field)
        if target is not None and isinstance(value, int) and not isinstance(value, bool):
            self._wanted.setdefault(target, set()).add(value)
            self._names = None

    def want_rows(self, fields: Iterable[Field], rows: Iterable[Mapping[str, Any]]) -> None:
        fields = [f for f in fields if self.target(f) is not None]
        for row in rows:
            for field in fields:
                self.want(field, row.get(field.name))

    def cell(self, field: Field, value: Any) -> Cell:
        if is_empty(value):
            return EMPTY
        target = self.target(field)
        if target is not None:
            name = self._lookup(target, value)
            return Cell(name, f"/app/{target}/{value}") if name is not None else Cell(f"#{value}")
        link = LINKS.get(field.type)
        return Cell(display_text(field, value, self.actor.time_zone), link(value) if link else None)

    def _lookup(self, target: str, record_id: int) -> str | None:
        if self._names is None:
            self._names = {}
            for entity, ids in self._wanted.items():
                self._names.update(self._fetch(entity, ids))
        return self._names.get((target, record_id))

    def _fetch(self, entity_name: str, ids: set[int]) -> dict[tuple[str, int], str]:
        access = entity_access(self.model.catalog, self.actor, entity_name)
        if not access.allows("read") or not ids:
            return {}
        entity = self.model.entity(entity_name)
        table = self.model.table(entity_name)
        shown = entity.field(entity.display_field) if access.can_read_field(entity.display_field) else None
        columns = [table.c.id] + ([table.c[shown.name]] if shown is not None else [])
        statement = select(*columns).where(table.c.id.in_(sorted(ids)))
        scope = scope_condition(access.read, table, self.actor)  # type: ignore[arg-type]
        if scope is not None:
            statement = statement.where(scope)
        names = {}
        for row in self.connection.execute(statement):
            text = display_text(shown, row[1]) if shown is not None and not is_empty(row[1]) else ""
            names[(entity_name, row[0])] = text or f"{entity.label} #{row[0]}"
        return names


def record_name(entity: Any, record: Mapping[str, Any]) -> str:
    """How a record is called in headings and links: its display field, else its label and id."""
    field = entity.field(entity.display_field)
    value = record.get(entity.display_field)
    if field is None or is_empty(value):
        return f"{entity.label} #{record.get('id')}"
    return display_text(field, value)
