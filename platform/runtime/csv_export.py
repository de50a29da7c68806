"""CSV export of a list: the reader's columns, filter and sort, streamed in constant memory.

The rows come from ``xrm.runtime.queries.ListQuery`` — the API's and the list
page's query — so the reader's record scope applies and hidden fields can be
neither exported nor filtered on.  Its one-page statement loses its LIMIT and
runs with ``stream_results`` (a server-side cursor on PostgreSQL), read in
partitions: memory stays flat for a million rows.

Values are written so that an import reads them back: ISO dates and times,
``true``/``false``, picklist values, multi-picklists joined by ``;``,
durations like ``1d 4h``, lookups and users by the name of the record they
point to (the id when the reader may not see that name).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from xrm.context import Context
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Field
from xrm.metadata.suggest import did_you_mean
from xrm.runtime.csv_mapping import reference_target
from xrm.runtime.permissions import entity_access, scope_condition
from xrm.runtime.queries import SYSTEM_FIELDS, ListQuery, ListRequest
from xrm.runtime.record_errors import Invalid
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel

#: Rows fetched from the database at a time (and names looked up per batch).
PARTITION = 1000


@dataclass(frozen=True)
class ExportPlan:
    """What to export: the entity, its columns (checked against what the reader may see) and the list request."""

    entity: str
    columns: tuple[Field, ...]
    request: ListRequest


def plan_export(model: RecordModel, context: Context, entity_name: str, columns: Sequence[str] | None, *,
                filter: str | None = None, sort: str | None = None, search: str | None = None) -> ExportPlan:
    """Check the columns and the list request for this reader; ``Invalid`` names what does not fit.

    No ``columns``: the id and every field the reader may see.
    """
    entity = model.entity(entity_name)
    access = entity_access(model.catalog, context.actor, entity_name)
    readable = {name: field for name, field in {**SYSTEM_FIELDS, **{f.name: f for f in entity.fields}}.items()
                if access.can_read_field(name)}
    names = list(columns) if columns else ["id", *(f.name for f in entity.fields if f.name in readable)]
    errors = []
    for name in names:
        if name not in readable:
            hint = did_you_mean(name, list(readable))
            errors.append(FieldError("columns", f"{entity.label} has no field '{name}'" + (f"; {hint}" if hint else ""),
                                     "unknown_field"))
    if errors:
        raise Invalid("the columns are not valid", errors)
    request = ListRequest(filter=filter or None, sort=sort or None, search=search or None, with_total=False)
    ListQuery(model, context, entity_name, request)  # checks the filter, sort and search for this reader
    return ExportPlan(entity_name, tuple(readable[n] for n in dict.fromkeys(names)), request)


def count_rows(connection: Connection, model: RecordModel, context: Context, plan: ExportPlan) -> int:
    query = ListQuery(model, context, plan.entity, plan.request)
    return connection.execute(query.count_statement()).scalar_one()


def export_rows(connection: Connection, model: RecordModel, context: Context, plan: ExportPlan, *,
                labels: bool = False) -> Iterator[list[str]]:
    """The header (field names, or labels for people), then each record as CSV cells, streamed.

    An import matches headers by name or label alike, so both read back.
    """
    query = ListQuery(model, context, plan.entity, plan.request)
    table = query.table
    statement = query.statement().limit(None).offset(None).with_only_columns(
        *(table.c[f.name] for f in plan.columns))
    names = _Names(connection, model, context)
    yield [f.label if labels else f.name for f in plan.columns]
    result = connection.execution_options(stream_results=True, yield_per=PARTITION).execute(statement)
    for partition in result.partitions():
        names.prefetch(plan.columns, partition)
        for row in partition:
            yield [names.text(field, value) for field, value in zip(plan.columns, row, strict=True)]


def csv_chunks(rows: Iterator[list[str]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """CSV text in chunks of some hundred rows (for a streamed response or a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


#: Field types written otherwise than by their value's Python type (an import reads each back).
CELL_TEXT: Mapping[str, Callable[[Any, Field], str]] = {
    "duration": lambda value, field: get_field_type("duration").display(value, field),
}


class _Names:
    """Names of the records lookups point to, one query per target and partition, within the reader's scope."""

    def __init__(self, connection: Connection, model: RecordModel, context: Context) -> None:
        self.connection, self.model, self.actor = connection, model, context.actor
        self.names: dict[tuple[str, int], str] = {}

    def target(self, field: Field) -> str | None:
        return reference_target(self.model, field)

    def prefetch(self, fields: Sequence[Field], rows: Sequence[Sequence[Any]]) -> None:
        self.names = {}
        wanted: dict[str, set[int]] = {}
        for index, field in enumerate(fields):
            target = self.target(field)
            if target is not None:
                wanted.setdefault(target, set()).update(r[index] for r in rows if r[index] is not None)
        for target, ids in wanted.items():
            self._fetch(target, ids)

    def _fetch(self, target: str, ids: set[int]) -> None:
        access = entity_access(self.model.catalog, self.actor, target)
        entity = self.model.entity(target)
        if access.read is None or not ids or not access.can_read_field(entity.display_field):
            return
        table = self.model.table(target)
        statement = select(table.c.id, table.c[entity.display_field]).where(table.c.id.in_(sorted(ids)))
        scope = scope_condition(access.read, table, self.actor)  # type: ignore[arg-type]
        if scope is not None:
            statement = statement.where(scope)
        for record_id, name in self.connection.execute(statement):
            if name not in (None, ""):
                self.names[(target, record_id)] = str(name)

    def text(self, field: Field, value: Any) -> str:
        if value is None:
            return ""
        target = self.target(field)
        if target is not None:
            return self.names.get((target, value), str(value))
        special = CELL_TEXT.get(field.type)
        return special(value, field) if special else _plain(value)
