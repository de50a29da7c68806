"""One dashboard widget for one reader: the aggregate run in the reader's scope, its chart and its data table.

Every number links to the list of the records it counts
(``/app/{entity}?filter=...``); lookups are named as the reader may see them.
A widget the reader cannot see (an entity not readable, a hidden field) says
so in its card instead of failing the page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from xrm.metadata.dashboards import CHART_KINDS, MEASURES, Widget, resolve_path, value_type
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Field
from xrm.runtime.aggregate_groups import Group
from xrm.runtime.aggregates import NO_SERIES, Aggregate, AggregateQuery, Cell, run_aggregate
from xrm.runtime.record_errors import Forbidden, Invalid, NotFound
from xrm.ui.charts import Category, ChartData, Datum, Figure, SeriesData, render_chart
from xrm.ui.charts.scale import compact
from xrm.ui.display import Names
from xrm.ui.page_calls import PageCall


@dataclass(frozen=True)
class TableRow:
    label: str
    cells: tuple[Datum, ...]


@dataclass(frozen=True)
class DataTable:
    group_label: str
    columns: tuple[str, ...]
    rows: tuple[TableRow, ...]
    total: TableRow


@dataclass(frozen=True)
class WidgetView:
    id: str
    name: str
    title: str
    description: str | None
    chart: str
    wide: bool
    list_href: str
    figure: Figure | None = None
    table: DataTable | None = None
    summary: str = ""
    message: str | None = None


def list_href(entity: str, expression: str | None) -> str:
    return f"/app/{entity}" + (f"?{urlencode({'filter': expression})}" if expression else "")


def widget_view(call: PageCall, widget: Widget, dom_id: str) -> WidgetView:
    """The widget as ``call``'s reader sees it (a message in place of the chart when they may not)."""
    base = WidgetView(dom_id, widget.name, widget.title, widget.description, widget.chart, widget.width == 2,
                      list_href(widget.entity, widget.filter))
    try:
        aggregate = run_aggregate(call.connection, call.model, call.context, AggregateQuery.of(widget))
    except (Forbidden, NotFound) as error:  # NotFound: the entity went away since (a pack upgrade)
        return replace(base, message=f"Not shown: {error.detail}.")
    except Invalid as error:
        reasons = "; ".join(e.message for e in error.errors) or error.detail
        return replace(base, message=f"Not shown: {reasons}.")
    if not aggregate.total.count and widget.chart != "number":
        return replace(base, message="No records to show yet.")
    aggregate = _named(call, aggregate)
    data = chart_data(call, widget, aggregate, dom_id)
    table = None if widget.chart == "number" else data_table(call, widget, aggregate, data)
    summary = (f"{CHART_KINDS[widget.chart].label} of {data.value_label.lower()}"
               + (f" by {data.category_label.lower()}" if widget.group_by else "")
               + (" and series" if widget.series else "") + f"; total {data.total.text}.")
    return replace(base, figure=render_chart(widget.chart, data), table=table, summary=summary)


# -- the numbers as text, with their links ---------------------------------------------------------


def value_text(aggregate: Aggregate, value: Any) -> str:
    field = aggregate.value_field
    if value is None:
        return "—"
    if field is None:
        return f"{value:,}"
    return get_field_type(field.type).display(value, field)


def short_text(aggregate: Aggregate, value: Any) -> str:
    """The number beside a mark: ``171000.00`` (USD) → ``171k USD``; durations to their two largest units."""
    field = aggregate.value_field
    if value is None or field is None:
        return value_text(aggregate, value)
    if value_type(field) == "duration":
        return " ".join(value_text(aggregate, value).split()[:2])
    kinds = {field.type, field.returns}
    unit = (field.currency_code or "USD") if "currency" in kinds else ("%" if "percent" in kinds else "")
    return f"{compact(float(value))} {unit}".strip()


def measure_label(aggregate: Aggregate) -> str:
    field = aggregate.value_field
    if field is None:
        return "Records"
    hours = ", hours" if _unit(aggregate) == 3600 else ""
    return f"{field.label} ({MEASURES[aggregate.query.measure].label.lower()}{hours})"


def _datum(aggregate: Aggregate, cell: Cell, what: str, expression: str) -> Datum:
    text = value_text(aggregate, cell.value if aggregate.value_field is not None else cell.count)
    counted = f", {cell.count:,} record{'s' if cell.count != 1 else ''}" if aggregate.value_field is not None else ""
    href = list_href(aggregate.query.entity, expression) if cell.count else ""
    short = short_text(aggregate, cell.value if aggregate.value_field is not None else cell.count)
    return Datum(float(cell.value or 0) / _unit(aggregate), text, href, f"{what}: {text}{counted}", short)


def _share(datum: Datum, cell: Cell, whole: Cell, aggregate: Aggregate) -> Datum:
    """``datum`` as a share of ``whole`` (its group): ``6`` of 15 → 40 % on the chart, "6 (40 %)" in words."""
    part, total = (cell.count, whole.count) if aggregate.value_field is None else (cell.value or 0, whole.value or 0)
    percent = float(part) * 100 / float(total) if total else 0.0
    shown = f"{percent:.0f} %"
    return replace(datum, value=percent, text=f"{datum.text} ({shown})", short=shown,
                   label=f"{datum.label} ({shown} of the group)")


def _unit(aggregate: Aggregate) -> int:
    """What one unit of a chart's value axis holds: durations are drawn in hours."""
    field = aggregate.value_field
    return 3600 if field is not None and value_type(field) == "duration" else 1


# -- lookups named for the reader -----------------------------------------------------------------


def _reference_field(target: str) -> Field:
    return Field("group", "user" if target == "user" else "lookup", "Group", target=target)


def _name_groups(names: Names, groups: tuple[Group, ...]) -> tuple[Group, ...]:
    if not any(g.target for g in groups):
        return groups
    for group in groups:
        if group.target:
            names.want(_reference_field(group.target), group.value)
    named = [replace(g, label=names.cell(_reference_field(g.target), g.value).text)
             if g.target and g.label == f"#{g.value}" else g for g in groups]
    return tuple(sorted(named, key=lambda g: (g.value is None, g.label.lower())))


def _named(call: PageCall, aggregate: Aggregate) -> Aggregate:
    names = Names(call.connection, call.model, call.context.actor)
    return replace(aggregate, groups=_name_groups(names, aggregate.groups), series=_name_groups(names, aggregate.series))


# -- chart data and table -------------------------------------------------------------------------


def _grouping_label(call: PageCall, widget: Widget) -> str:
    if widget.group_by is None:
        return ""
    entities = call.model.catalog.entities
    return resolve_path(entities[widget.entity], widget.group_by.field, entities).label


def chart_data(call: PageCall, widget: Widget, aggregate: Aggregate, dom_id: str) -> ChartData:
    categories = tuple(Category(g.key, g.label, g.short or g.label, g.color) for g in aggregate.groups)
    lanes = aggregate.series or (Group(NO_SERIES, None, measure_label(aggregate), ""),)
    shares = widget.share and bool(aggregate.series)
    series = []
    for lane in lanes:
        data = []
        for g in aggregate.groups:
            cell = aggregate.cell(g.key, lane.key)
            datum = _datum(aggregate, cell, g.label + (f" · {lane.label}" if aggregate.series else ""),
                           aggregate.drill_filter(g, lane if aggregate.series else None))
            data.append(_share(datum, cell, aggregate.group_total(g.key), aggregate) if shares else datum)
        series.append(SeriesData(lane.key, lane.label, lane.color, tuple(data)))
    total = _datum(aggregate, aggregate.total, widget.title, aggregate.drill_filter())
    value_label = f"Share of {measure_label(aggregate).lower()} (%)" if shares else measure_label(aggregate)
    return ChartData(dom_id, widget.title, categories, tuple(series), value_label,
                     _grouping_label(call, widget), total, widget.width == 2, single=not aggregate.series,
                     whole=aggregate.value_field is None and not shares)


def data_table(call: PageCall, widget: Widget, aggregate: Aggregate, data: ChartData) -> DataTable:
    """Rows are the groups; columns the series (and their total), or the measure (and the records counted)."""
    counted = aggregate.value_field is not None
    columns = [s.label for s in data.series]
    if aggregate.series:
        columns.append("Total")
    if counted:
        columns.append("Records")
    rows = []
    for index, group in enumerate(aggregate.groups):
        cells = [s.data[index] for s in data.series]
        whole = aggregate.group_total(group.key)
        if aggregate.series:
            cells.append(_datum(aggregate, whole, group.label, aggregate.drill_filter(group)))
        if counted:
            cells.append(_count(aggregate, whole, group.label, aggregate.drill_filter(group)))
        rows.append(TableRow(group.label, tuple(cells)))
    totals = [_datum(aggregate, aggregate.combined(aggregate.cell(g.key, s.key) for g in aggregate.groups),
                     f"Total · {s.label}", aggregate.drill_filter(None, s)) for s in aggregate.series]
    totals.append(data.total)
    if counted:
        totals.append(_count(aggregate, aggregate.total, "Total", aggregate.drill_filter()))
    return DataTable(data.category_label or "Group", tuple(columns), tuple(rows), TableRow("Total", tuple(totals)))


def _count(aggregate: Aggregate, cell: Cell, what: str, expression: str) -> Datum:
    href = list_href(aggregate.query.entity, expression) if cell.count else ""
    return Datum(float(cell.count), f"{cell.count:,}", href, f"{what}: {cell.count:,} records", f"{cell.count:,}")
