"""Aggregate queries for dashboards: count / sum / average of an entity's records, grouped, run in the database.

The records that count are exactly those a list would show the viewer:
``ListQuery`` (the API's query layer) builds the record scope and the
filter, and the aggregate reads the ids it selects.  Groupings are field
paths checked against the entity *as the viewer sees it*, so a hidden field
cannot be grouped or summed, and lookups followed by a path join only
records in the viewer's scope (as a list filter does).

Example: ``AggregateQuery("opportunity", "sum", "amount", Grouping("stage"))``
→ one ``Group`` per stage in option order, each with its ``Cell`` (records,
sum) and the filter ``stage = 'proposal'`` that lists those records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.exc import DataError
from sqlalchemy.sql.elements import ColumnElement

from xrm.context import Context
from xrm.metadata.dashboards import Grouping, PathError, ResolvedPath, Widget, resolve_path, value_type
from xrm.metadata.model import Field
from xrm.rules.expr import ExpressionError, check_expression
from xrm.runtime.aggregate_groups import Group, GroupKind, kind_of, normalise_key
from xrm.runtime.queries import ListQuery, ListRequest, visible_entities
from xrm.runtime.record_errors import Invalid
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel

#: The key of the only series when a query has none, and of the only group when it has no grouping.
NO_SERIES = ""
ALL = "*"


@dataclass(frozen=True)
class AggregateQuery:
    entity: str
    measure: str = "count"
    field: str | None = None
    group_by: Grouping | None = None
    series: Grouping | None = None
    filter: str | None = None

    @classmethod
    def of(cls, widget: Widget) -> AggregateQuery:
        return cls(widget.entity, widget.measure, widget.field, widget.group_by, widget.series, widget.filter)


@dataclass(frozen=True)
class Cell:
    """One group × series: how many records, how many had a value to measure, and the measure."""

    count: int = 0
    measured: int = 0
    value: Any = None


@dataclass(frozen=True)
class Measure:
    name: str
    sql: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    #: several cells' measures → their combined measure (totals)
    combine: Callable[[list[Cell]], Any]


def _weighted_average(cells: list[Cell]) -> Any:
    measured = sum(c.measured for c in cells)
    if not measured:
        return None
    return sum((Decimal(str(c.value)) * c.measured for c in cells if c.value is not None), Decimal(0)) / measured


MEASURES: dict[str, Measure] = {}


def register_measure(measure: Measure) -> None:
    assert measure.name not in MEASURES, f"measure {measure.name!r} is registered twice"
    MEASURES[measure.name] = measure


for _measure in (
    Measure("count", lambda _value: func.count(), lambda cells: sum(c.count for c in cells)),
    Measure("sum", func.sum, lambda cells: sum((c.value for c in cells if c.value is not None), 0)
            if any(c.value is not None for c in cells) else None),
    Measure("avg", func.avg, _weighted_average),
):
    register_measure(_measure)


@dataclass(frozen=True)
class Aggregate:
    """The answer: groups, series (empty when there are none), and a cell for each pair."""

    query: AggregateQuery
    groups: tuple[Group, ...]
    series: tuple[Group, ...]
    cells: Mapping[tuple[str, str], Cell]
    #: the measured field (None: records are counted)
    value_field: Field | None

    def cell(self, group: str, series: str = NO_SERIES) -> Cell:
        return self.cells.get((group, series), Cell())

    def combined(self, cells: Iterable[Cell]) -> Cell:
        cells = list(cells)
        value = MEASURES[self.query.measure].combine(cells)
        return Cell(sum(c.count for c in cells), sum(c.measured for c in cells), normalise(self, value))

    def group_total(self, group: str) -> Cell:
        return self.combined(c for (g, _s), c in self.cells.items() if g == group)

    @property
    def total(self) -> Cell:
        return self.combined(self.cells.values())

    def drill_filter(self, group: Group | None = None, series: Group | None = None) -> str:
        """The expression selecting the records of a group (and series), the widget's filter included."""
        parts = [text for text in (self.query.filter, group.filter if group else None,
                                   series.filter if series else None) if text]
        if len(parts) == 1:
            return parts[0]
        return " and ".join(f"({part})" for part in parts)


def normalise(aggregate: Aggregate, value: Any) -> Any:
    """A measure as the database returned it → int (counts, whole numbers, durations) or Decimal."""
    if value is None or aggregate.value_field is None:
        return value if value is None else int(value)
    kind = value_type(aggregate.value_field)
    if kind in ("integer", "duration") and aggregate.query.measure == "sum":
        return int(value)
    if kind == "duration":
        return int(Decimal(str(value)).to_integral_value(ROUND_HALF_UP))
    scale = 2 if aggregate.query.measure == "avg" else (aggregate.value_field.scale or 2)
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)


@dataclass(frozen=True)
class _Dimension:
    grouping: Grouping
    resolved: ResolvedPath
    kind: GroupKind
    sql: Any


def _invalid(key: str, message: str, code: str = "invalid_grouping") -> Invalid:
    return Invalid(message, [FieldError(key, message, code)])


def _dimension(model: RecordModel, context: Context, entity_name: str, grouping: Grouping, key: str) -> _Dimension:
    visible = visible_entities(model, context.actor)
    try:
        resolved = resolve_path(visible[entity_name], grouping.field, visible)
        checked = check_expression(grouping.field, visible[entity_name], visible)
    except (PathError, ExpressionError):
        raise _invalid(key, f"cannot group by '{grouping.field}': you may not read it, or it does not exist") from None
    return _Dimension(grouping, resolved, kind_of(resolved), checked.sql(model.tables, now=context.now))


def _measured_field(model: RecordModel, context: Context, query: AggregateQuery) -> Field | None:
    if query.measure == "count":
        return None
    entity = visible_entities(model, context.actor)[query.entity]
    field = entity.field(query.field or "")
    if field is None:
        raise _invalid("field", f"cannot measure '{query.field}': you may not read it, or it does not exist",
                       "invalid_measure")
    return field


def run_aggregate(connection: Connection, model: RecordModel, context: Context, query: AggregateQuery) -> Aggregate:
    """Compute ``query`` over the records the context's actor may read (``Forbidden`` when none, ``Invalid``
    when the query names what the actor cannot see)."""
    listing = ListQuery(model, context, query.entity, ListRequest(filter=query.filter, with_total=False))
    table = listing.table
    value_field = _measured_field(model, context, query)
    dims = [_dimension(model, context, query.entity, grouping, key)
            for key, grouping in (("group_by", query.group_by), ("series", query.series)) if grouping is not None]
    dialect = connection.dialect.name
    joined: Any = table
    for dim in dims:
        for alias, on in dim.sql.joins:
            # the same rule as a list filter's joins: a related record outside the viewer's scope reads as empty
            scope = listing._scope_of_alias(alias)
            joined = joined.outerjoin(alias, on if scope is None else and_(on, scope))
    keys = [dim.kind.key_sql(dim.sql.value, dim.grouping, dim.resolved, dialect).label(f"g{i}")
            for i, dim in enumerate(dims)]
    measured = table.c[value_field.name] if value_field is not None else table.c.id
    ids = listing.count_statement().with_only_columns(table.c.id)
    inner = select(*keys, measured.label("m")).select_from(joined).where(table.c.id.in_(ids)).subquery()
    group_columns = [inner.c[f"g{i}"] for i in range(len(dims))]
    statement = select(*group_columns, func.count().label("n"), func.count(inner.c.m).label("measured"),
                       MEASURES[query.measure].sql(inner.c.m).label("value")).group_by(*group_columns)
    try:
        with connection.begin_nested():
            rows = [tuple(row) for row in connection.execute(statement)]
    except (DataError, OverflowError):
        raise _invalid("filter", "a value in the filter is out of range", "invalid_filter") from None
    return _assemble(query, dims, rows, value_field)


def _assemble(query: AggregateQuery, dims: list[_Dimension], rows: list[tuple], value_field: Field | None) -> Aggregate:
    width = len(dims)
    keyed = [tuple(normalise_key(dim.kind, row[i]) for i, dim in enumerate(dims)) + tuple(row[width:]) for row in rows]
    axes: list[tuple[Group, ...]] = []
    for i, dim in enumerate(dims):
        groups = dim.kind.groups([row[i] for row in keyed], dim.grouping, dim.resolved)
        axes.append(tuple(replace(g, color=dim.grouping.colors.get(g.key, g.color)) for g in groups))
    if not dims:
        axes.append((Group(ALL, None, "All", ""),))
    shell = Aggregate(query, axes[0], axes[1] if width > 1 else (), {}, value_field)
    cells: dict[tuple[str, str], Cell] = {}
    for row in keyed:
        group = _key_of(axes[0], row[0]) if dims else ALL
        series = _key_of(axes[1], row[1]) if width > 1 else NO_SERIES
        count, measured, value = row[width:]
        cells[(group, series)] = Cell(count, measured, normalise(shell, value if query.measure != "count" else count))
    return Aggregate(query, shell.groups, shell.series, cells, value_field)


def _key_of(groups: tuple[Group, ...], value: Any) -> str:
    """The key of the group holding the database's ``value`` (dates come back as text, groups keep dates)."""
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    for group in groups:
        if group.key == text:
            return group.key
    return text
