"""Which CSV column fills which field, the upsert key, and CSV cells turned into record input.

The cells stay text: the record service coerces them by field type (numbers,
dates, booleans as yes/no/true/false/1/0, picklists by value or label).  Only
references need the database first: a lookup or user cell holds an id or the
target's name (its display field; users also by user name or e-mail), resolved
here within the importer's read scope — an unknown or ambiguous name is an
error of the row that names the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, func, select

from xrm.context import Actor
from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.fieldtypes.relation import USERS_TABLE
from xrm.metadata.model import Entity, Field
from xrm.metadata.suggest import did_you_mean
from xrm.runtime.permissions import EntityAccess, entity_access, scope_condition
from xrm.runtime.record_errors import Invalid
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel

#: The record id, as a column to match existing records by (never written).
ID_FIELD = Field("id", "integer", "Id")
OWNER_FIELD = Field("owner_id", "user", "Owner")
#: Besides its display field, a target entity's records may be named by these columns.
OTHER_NAMES: Mapping[str, tuple[str, ...]] = {"user": ("username", "email")}
_DIGITS = re.compile(r"[0-9]{1,18}")
_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class ImportSettings:
    """The field of each CSV column (None: ignored), the upsert key, and whether blank cells clear fields."""

    columns: tuple[str | None, ...]
    key: str | None = None
    blanks_clear: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "key": self.key, "blanks_clear": self.blanks_clear}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportSettings:
        return cls(tuple(data["columns"]), data.get("key"), bool(data.get("blanks_clear")))


def importable_fields(model: RecordModel, actor: Actor, entity: Entity) -> dict[str, Field]:
    """The fields a CSV column may fill for this actor: ``id`` (to match), the owner, and every editable field."""
    access = entity_access(model.catalog, actor, entity.name)
    fields = {ID_FIELD.name: ID_FIELD, OWNER_FIELD.name: OWNER_FIELD}
    for field in entity.fields:
        if not get_field_type(field.type).computed and access.can_edit_field(field.name):
            fields[field.name] = field
    return fields


def key_fields(entity: Entity, fields: Mapping[str, Field]) -> list[Field]:
    """Fields that identify one record, for upserts: ``id`` and the unique fields."""
    return [ID_FIELD, *(f for f in entity.fields if f.name in fields and (f.unique or get_field_type(f.type).unique_by_nature))]


def _words(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.casefold()).strip("_")


def suggest_columns(header: Sequence[str], fields: Mapping[str, Field]) -> tuple[str | None, ...]:
    """The field each header names — by name or label, ignoring case, spaces and punctuation; each field once."""
    by_words: dict[str, str] = {}
    for field in fields.values():
        for text in (field.label, field.name):
            by_words.setdefault(_words(text), field.name)
    by_words.setdefault("owner", OWNER_FIELD.name)
    taken: set[str] = set()
    result: list[str | None] = []
    for title in header:
        name = by_words.get(_words(title))
        result.append(name if name is not None and name not in taken else None)
        if name is not None:
            taken.add(name)
    return tuple(result)


def check_settings(settings: ImportSettings, header: Sequence[str], entity: Entity,
                   fields: Mapping[str, Field]) -> None:
    """Refuse a mapping that names unknown fields, fills a field twice, or an upsert key that is not unique."""
    errors: list[FieldError] = []
    if len(settings.columns) != len(header):
        errors.append(FieldError("columns", f"map each of the {len(header)} columns (or ignore it)", "mapping"))
    seen: dict[str, str] = {}
    for title, name in zip(header, settings.columns, strict=False):
        if name is None:
            continue
        if name not in fields:
            hint = did_you_mean(name, list(fields))
            errors.append(FieldError(title, f"column '{title}': {entity.label} has no field '{name}' you may set"
                                     + (f"; {hint}" if hint else ""), "unknown_field"))
        elif name in seen:
            errors.append(FieldError(title, f"columns '{seen[name]}' and '{title}' both fill '{fields[name].label}'",
                                     "mapped_twice"))
        else:
            seen[name] = title
    if ID_FIELD.name in seen and settings.key != ID_FIELD.name:
        errors.append(FieldError(seen["id"], "an id column only matches existing records: choose 'id' as the key "
                                 "or ignore the column", "id_not_key"))
    if settings.key is not None:
        keys = {f.name for f in key_fields(entity, fields)}
        if settings.key not in keys:
            errors.append(FieldError("key", f"'{settings.key}' does not identify one record; the key is one of "
                                     + ", ".join(sorted(keys)), "key_not_unique"))
        elif settings.key not in seen:
            errors.append(FieldError("key", f"no column fills the key '{settings.key}'", "key_not_mapped"))
    if not seen:
        errors.append(FieldError("columns", "no column is mapped to a field", "mapping"))
    if errors:
        raise Invalid("the column mapping is not valid", errors)


def reference_target(model: RecordModel, field: Field) -> str | None:
    """The entity a lookup, user or owner field points to (``user`` for users); None for other fields."""
    foreign = get_field_type(field.type).foreign_key_target(field)
    if foreign is None:
        return None
    return "user" if foreign[0] == USERS_TABLE else model.target_of(field)


class References:
    """Lookup and user cells resolved to ids (an id, or the target's name), remembered for the whole import."""

    def __init__(self, model: RecordModel, actor: Actor) -> None:
        self.model, self.actor = model, actor
        self._known: dict[tuple[str, str], int | FieldValueError] = {}

    def target(self, field: Field) -> str | None:
        return reference_target(self.model, field)

    def resolve(self, connection: Connection, field: Field, text: str) -> int:
        """The id the cell names; ``FieldValueError`` naming the value when none or several records match."""
        target = self.target(field)
        assert target is not None, "only lookups and user fields are resolved"
        key = (target, text.strip())
        found = self._known.get(key)
        if found is None:
            found = self._find(connection, target, key[1])
            if len(self._known) >= _CACHE_SIZE:
                self._known.clear()
            self._known[key] = found
        if isinstance(found, FieldValueError):
            raise found
        return found

    def _find(self, connection: Connection, target: str, text: str) -> int | FieldValueError:
        entity = self.model.entity(target)
        access = entity_access(self.model.catalog, self.actor, target)
        what = entity.label.lower()
        if not access.allows("read"):
            return FieldValueError(f"you may not read {entity.plural_label.lower()}", "not_permitted")
        if _DIGITS.fullmatch(text) and self._ids(connection, target, access, "id", text):
            return int(text)
        names = [n for n in (entity.display_field, *OTHER_NAMES.get(target, ())) if access.can_read_field(n)]
        for name in names:
            ids = self._ids(connection, target, access, name, text)
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                return FieldValueError(f"{len(ids)} {entity.plural_label.lower()} are called '{text}': "
                                       "give the id instead", "ambiguous")
        return FieldValueError(f"there is no {what} '{text}' (by id or name)", "not_found")

    def _ids(self, connection: Connection, target: str, access: EntityAccess, column_name: str, text: str) -> list[int]:
        table = self.model.table(target)
        column = table.c[column_name]
        if column_name == "id":
            condition = column == int(text)
        elif isinstance(column.type, String):
            condition = func.lower(column) == text.lower()
        else:  # a display field that is not text (a number, a reference): names nothing
            return []
        statement = select(table.c.id, column).where(condition).limit(20)
        scope = scope_condition(access.read, table, self.actor)  # type: ignore[arg-type]
        if scope is not None:
            statement = statement.where(scope)
        rows = connection.execute(statement).all()
        exact = [r[0] for r in rows if str(r[1]) == text]
        return exact or [r[0] for r in rows]


def row_input(connection: Connection, cells: Sequence[str], settings: ImportSettings, fields: Mapping[str, Field], references: References,
              *, creating: bool) -> tuple[dict[str, Any], list[FieldError]]:
    """The record input of one row (the key and ignored columns left out) and the cells that could not be read."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for index, name in enumerate(settings.columns):
        if name is None or name == ID_FIELD.name:
            continue
        text = cells[index] if index < len(cells) else ""
        if not text.strip():
            if settings.blanks_clear and not creating:
                values[name] = None
            continue
        field = fields[name]
        if references.target(field) is not None:
            try:
                values[name] = references.resolve(connection, field, text)
            except FieldValueError as error:
                errors.append(FieldError(name, error.message, error.code))
            continue
        values[name] = text
    return values, errors
