"""Record lists: filter (an expression run in SQL), sort, quick search, paging and totals.

Everything a caller passes is checked against the entity *as the caller sees
it*: a filter or sort naming a field the caller may not read fails exactly as
an unknown field does, so a list can never be used to probe hidden values.
The record scope of the caller's roles is always part of the WHERE clause.

Paging: ``offset`` for page numbers, or the opaque ``cursor`` returned with each
page (keyset paging on the sort keys plus ``id``: stable while records are
added and fast at any depth).  NULLs sort last ascending and first descending
on every database, so the order is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, false, func, literal, or_, select, true
from sqlalchemy.exc import DataError

from xrm.context import Actor, Context
from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field
from xrm.metadata.suggest import did_you_mean
from xrm.rules.expr import ExpressionError, check_expression
from xrm.runtime.jsonvalues import to_json
from xrm.runtime.permissions import EntityAccess, entity_access, scope_condition
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_SORT_KEYS = 5
#: Deeper pages are reached with the cursor; an offset beyond this is refused (and would overflow a BIGINT).
MAX_OFFSET = 10_000_000
#: Quick search looks for the text anywhere in these fields; longer input is refused rather than scanned.
MAX_SEARCH_LENGTH = 200
#: A filter is a condition people type or views store; far longer text is refused before parsing.
MAX_FILTER_LENGTH = 4000

#: System columns as pseudo-fields, so that sorting and cursors treat them like any field.
SYSTEM_FIELDS: Mapping[str, Field] = {
    "id": Field("id", "integer", "Id"),
    "version": Field("version", "integer", "Version"),
    "created_at": Field("created_at", "datetime", "Created at"),
    "created_by": Field("created_by", "user", "Created by"),
    "updated_at": Field("updated_at", "datetime", "Updated at"),
    "updated_by": Field("updated_by", "user", "Updated by"),
    "owner_id": Field("owner_id", "user", "Owner"),
    "owner_queue_id": Field("owner_queue_id", "lookup", "Queue", target="queue"),
}


@dataclass(frozen=True)
class ListRequest:
    """What a caller asks of a list; every part is optional."""

    filter: str | None = None
    sort: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: str | None = None
    search: str | None = None
    with_total: bool = True


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int | None
    limit: int
    offset: int
    next_cursor: str | None


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


def visible_entities(model: RecordModel, actor: Actor) -> dict[str, Entity]:
    """Each entity the actor may read, with only the fields the actor may read (what filters check against)."""
    return model.memo(("visible", actor.is_admin, actor.roles), lambda: _visible_entities(model, actor))


def _visible_entities(model: RecordModel, actor: Actor) -> dict[str, Entity]:
    result = {}
    for name, entity in model.catalog.entities.items():
        access = entity_access(model.catalog, actor, name)
        if not access.allows("read"):
            continue
        if access.hidden_fields:
            entity = replace(entity, fields=tuple(f for f in entity.fields if access.can_read_field(f.name)))
        result[name] = entity
    return result


def parse_sort(text: str | None, entity: Entity, access: EntityAccess) -> tuple[SortKey, ...]:
    """``"-amount,name"`` → keys; only readable columns that can be ordered (not multi-selects)."""
    if not text or not text.strip():
        return ()
    keys, errors, seen = [], [], set()
    for part in text.split(","):
        part = part.strip()
        descending = part.startswith("-")
        name = part[1:].strip() if part[:1] in ("+", "-") else part
        field = _sortable_field(entity, name)
        if field is None or not access.can_read_field(name):
            candidates = [*SYSTEM_FIELDS, *(f.name for f in entity.fields if access.can_read_field(f.name))]
            hint = did_you_mean(name, candidates)
            errors.append(FieldError("sort", f"cannot sort by '{name}': {entity.label} has no such field"
                                     + (f"; {hint}" if hint else ""), "unknown_field"))
        elif not get_field_type(field.type).indexable:
            errors.append(FieldError("sort", f"cannot sort by '{name}': a {field.type} field has no order", "not_sortable"))
        elif name not in seen:
            seen.add(name)
            keys.append(SortKey(name, descending))
    if len(keys) > MAX_SORT_KEYS:
        errors.append(FieldError("sort", f"sort by at most {MAX_SORT_KEYS} fields", "too_many"))
    if errors:
        raise Invalid("the sort order is not valid", errors)
    return tuple(keys)


def _sortable_field(entity: Entity, name: str) -> Field | None:
    return SYSTEM_FIELDS.get(name) or entity.field(name)


class ListQuery:
    """One list request, checked and compiled to SQL for one actor."""

    def __init__(self, model: RecordModel, context: Context, entity_name: str, request: ListRequest, *,
                 parent: tuple[str, int] | None = None) -> None:
        """``parent``: only records whose lookup field (first) holds the given id (second) — a related list."""
        self.model, self.context, self.request = model, context, request
        self.entity = model.entity(entity_name)
        self.access = entity_access(model.catalog, context.actor, entity_name)
        if not self.access.allows("read"):
            raise Forbidden(f"you may not read {self.entity.plural_label.lower()}")
        self.table = model.table(entity_name)
        self._conditions: list[ColumnElement[bool]] = []
        self._joins: Any = None
        errors: list[FieldError] = []
        details: list[str] = []

        def collect(step: Callable[[], Any], default: Any = None) -> Any:
            try:
                return step()
            except Invalid as error:
                errors.extend(error.errors)
                details.append(error.detail)
                return default

        collect(lambda: _check_paging(request))
        self.sort = collect(lambda: parse_sort(request.sort, self.entity, self.access), ())
        self.order = (*self.sort, *(() if any(k.field == "id" for k in self.sort) else (SortKey("id", False),)))
        scope = scope_condition(self.access.read, self.table, context.actor)  # type: ignore[arg-type]
        if scope is not None:
            self._conditions.append(scope)
        if parent is not None:
            if not self.access.can_read_field(parent[0]):
                raise Forbidden(f"you may not read '{parent[0]}' of {self.entity.plural_label.lower()}")
            self._conditions.append(self.table.c[parent[0]] == parent[1])
        if request.filter and request.filter.strip():
            collect(lambda: self._add_filter(request.filter))
        if request.search and request.search.strip():
            collect(lambda: self._conditions.append(self._search_condition(request.search.strip())))
        if errors:
            raise Invalid(details[0] if len(details) == 1 else "the list parameters are not valid", errors)

    def _add_filter(self, source: str) -> None:
        actor, entity = self.context.actor, self.entity.name
        if len(source) > MAX_FILTER_LENGTH:
            raise Invalid("the filter is too long",
                          [FieldError("filter", f"a filter has at most {MAX_FILTER_LENGTH} characters", "too_long")])
        if "\x00" in source:
            before = source[: source.index("\x00")]
            line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
            raise Invalid("the filter is not a valid condition",
                          [FieldError("filter", f"{line}:{column}: a filter cannot contain the NUL character",
                                      "invalid_filter")])
        entities = visible_entities(self.model, actor)
        try:
            checked = self.model.memo(
                ("filter", entity, source, actor.is_admin, actor.roles),
                lambda: check_expression(source, entities[entity], entities, expected="boolean"))
            if checked.uses_now:  # now() and today() are bound per request
                compiled = checked.sql(self.model.tables, now=self.context.now)
            else:
                compiled = self.model.memo(("filter_sql", entity, source, actor.is_admin, actor.roles),
                                           lambda: checked.sql(self.model.tables))
        except ExpressionError as error:
            raise Invalid("the filter is not a valid condition",
                          [FieldError("filter", _problem_text(p), "invalid_filter") for p in error.problems]) from None
        except RecursionError:
            raise Invalid("the filter is not a valid condition",
                          [FieldError("filter", "the filter is nested too deeply", "too_deep")]) from None
        except OverflowError:
            raise _out_of_range() from None
        self._conditions.append(compiled.where)
        if compiled.joins:
            # a related record outside the caller's scope reads as empty, exactly like a missing one
            joined: Any = self.table
            for alias, on in compiled.joins:
                scope = self._scope_of_alias(alias)
                joined = joined.outerjoin(alias, on if scope is None else and_(on, scope))
            self._joins = joined

    def _scope_of_alias(self, alias: Any) -> ColumnElement[bool] | None:
        target = next(name for name, table in self.model.tables.items() if table is alias.element)
        access = entity_access(self.model.catalog, self.context.actor, target)
        return scope_condition(access.read, alias, self.context.actor)  # type: ignore[arg-type]

    def _search_condition(self, text: str) -> ColumnElement[bool]:
        if len(text) > MAX_SEARCH_LENGTH:
            raise Invalid("the search text is too long",
                          [FieldError("q", f"search for at most {MAX_SEARCH_LENGTH} characters", "too_long")])
        if "\x00" in text:
            raise Invalid("the search text holds a NUL character",
                          [FieldError("q", "search text cannot contain the NUL character", "invalid_character")])
        columns = [self.table.c[f.name] for f in self.entity.fields
                   if get_field_type(f.type).searchable and self.access.can_read_field(f.name)]
        if not columns:
            return false()
        return or_(*(column.icontains(text, autoescape=True) for column in columns))

    def _from(self, statement: Select[Any]) -> Select[Any]:
        if self._joins is not None:
            statement = statement.select_from(self._joins)
        return statement.where(and_(true(), *self._conditions))

    def _columns(self) -> list[Any]:
        return [c for c in self.table.columns if self.access.can_read_field(c.name)]

    def _order_by(self) -> list[Any]:
        order = []
        for key in self.order:
            column = self.table.c[key.field]
            order.append(column.desc().nulls_first() if key.descending else column.asc().nulls_last())
        return order

    def statement(self, connection: Connection | None = None) -> Select[Any]:
        """The SELECT of one page."""
        statement = self._from(select(*self._columns())).order_by(*self._order_by())
        if self.request.cursor:
            statement = statement.where(self._after(self._decode_cursor(self.request.cursor)))
        else:
            statement = statement.offset(self.request.offset)
        return statement.limit(self.request.limit + 1)

    def count_statement(self) -> Select[Any]:
        return self._from(select(func.count()).select_from(self.table))

    def run(self, connection: Connection) -> Page:
        try:
            with connection.begin_nested():  # a refused computation must not end the caller's transaction
                rows = [dict(r) for r in connection.execute(self.statement()).mappings()]
                total = connection.execute(self.count_statement()).scalar_one() if self.request.with_total else None
        except (DataError, OverflowError):
            raise _out_of_range() from None
        more = len(rows) > self.request.limit
        rows = rows[: self.request.limit]
        cursor = self._encode_cursor(rows[-1]) if more and rows else None
        return Page(rows, total, self.request.limit, self.request.offset, cursor)

    # -- cursors ------------------------------------------------------------------------------

    def _fingerprint(self) -> str:
        text = json.dumps([self.entity.name, [(k.field, k.descending) for k in self.order]])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def _encode_cursor(self, row: Mapping[str, Any]) -> str:
        payload = [self._fingerprint(), [to_json(row[k.field]) for k in self.order]]
        return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")

    def _decode_cursor(self, cursor: str) -> list[Any]:
        invalid = Invalid("the cursor is not valid for this list",
                          [FieldError("cursor", "pass back the next_cursor of the previous page unchanged, "
                                                "with the same sort", "invalid_cursor")])
        try:
            payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            fingerprint, raw_values = payload
        except (ValueError, TypeError, binascii.Error):
            raise invalid from None
        if fingerprint != self._fingerprint() or not isinstance(raw_values, list) or len(raw_values) != len(self.order):
            raise invalid
        values = []
        for key, raw in zip(self.order, raw_values, strict=True):
            field = _sortable_field(self.entity, key.field)
            assert field is not None
            try:
                values.append(_cursor_value(field, raw))
            except (FieldValueError, TypeError, ValueError, OverflowError):
                raise invalid from None
        return values

    def _after(self, values: list[Any]) -> ColumnElement[bool]:
        """Rows strictly after ``values`` in the list's order (lexicographic over the sort keys)."""
        alternatives, equal_so_far = [], []
        for key, value in zip(self.order, values, strict=True):
            column = self.table.c[key.field]
            value = value if value is None else literal(value, column.type)
            if key.descending:  # NULLs first
                beyond = column.is_not(None) if value is None else column < value
            else:  # NULLs last
                beyond = false() if value is None else or_(column > value, column.is_(None))
            alternatives.append(and_(*equal_so_far, beyond))
            equal_so_far.append(column.is_(None) if value is None else column == value)
        return or_(*alternatives)


def _cursor_value(field: Field, raw: Any) -> Any:
    """A cursor's JSON value as the column holds it (computed fields by the type they store)."""
    field_type = get_field_type(field.type)
    if field_type.computed:
        if raw is None:
            return None
        result_type = getattr(field_type, "result_type", None)
        if result_type is None:  # autonumbers store text
            if not isinstance(raw, str):
                raise TypeError(raw)
            return raw
        return result_type(field).coerce(raw, field)
    return field_type.coerce(raw, field)


def _out_of_range() -> Invalid:
    return Invalid("the filter is not a valid condition",
                   [FieldError("filter", "a value in the filter is out of range (a date or number too large)",
                               "invalid_filter")])


def _problem_text(problem: Any) -> str:
    text = f"{problem.line}:{problem.column}: {problem.message}"
    return f"{text} ({problem.hint})" if problem.hint else text


def _check_paging(request: ListRequest) -> None:
    errors = []
    if not isinstance(request.limit, int) or isinstance(request.limit, bool) or not 1 <= request.limit <= MAX_LIMIT:
        errors.append(FieldError("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}", "out_of_range"))
    if not isinstance(request.offset, int) or isinstance(request.offset, bool) or not 0 <= request.offset <= MAX_OFFSET:
        errors.append(FieldError("offset", f"offset must be a whole number from 0 to {MAX_OFFSET:,} "
                                           "(use the cursor to page further)", "out_of_range"))
    if request.cursor and request.offset:
        errors.append(FieldError("offset", "give either a cursor or an offset, not both", "conflict"))
    if errors:
        raise Invalid("the paging parameters are not valid", errors)


def list_records(connection: Connection, model: RecordModel, context: Context, entity: str,
                 request: ListRequest) -> Page:
    """One page of the entity's records the actor may read, without the fields it may not."""
    return ListQuery(model, context, entity, request).run(connection)
