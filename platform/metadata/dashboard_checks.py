"""Checks of dashboards against the entities they query: the same for a pack file and an administrator's edit.

A widget names a known entity; its measure reads a number field (or counts);
its groupings resolve through lookups to a field whose values group (a date
needs a bucket, only a date has one); its chart kind can show what it asks
for; its filter is a boolean expression (problems carry line:column).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from xrm.metadata.check_scope import Scope, problem_at
from xrm.metadata.dashboards import (
    BUCKETS,
    CHART_KINDS,
    MEASURABLE_TYPES,
    MEASURES,
    Dashboard,
    Grouping,
    PathError,
    Widget,
    group_kind,
    resolve_path,
    value_type,
)
from xrm.metadata.expression_checks import expression_problems
from xrm.metadata.model import Entity
from xrm.metadata.problems import JsonPath, PackProblem
from xrm.metadata.suggest import did_you_mean


def dashboard_problems(dashboard: Dashboard, file: str, entities: Mapping[str, Entity],
                       known: frozenset[str] = frozenset()) -> Iterator[PackProblem]:
    """Every problem of ``dashboard`` against ``entities``; ``known`` names entities too broken to check against."""
    seen: set[str] = set()
    for index, widget in enumerate(dashboard.widgets):
        here: JsonPath = ("widgets", index)
        if widget.name in seen:
            yield problem_at(file, (*here, "name"), f"widget '{widget.name}' is declared twice",
                             expected="each widget name once", found=widget.name)
        seen.add(widget.name)
        entity = entities.get(widget.entity)
        if entity is None:
            if widget.entity not in known:
                yield problem_at(file, (*here, "entity"), f"widget '{widget.name}' is on unknown entity '{widget.entity}'",
                                 found=widget.entity, hint=did_you_mean(widget.entity, entities), code="unknown_entity")
            continue
        yield from _widget_problems(file, here, widget, entity, entities)


def _widget_problems(file: str, here: JsonPath, widget: Widget, entity: Entity,
                     entities: Mapping[str, Entity]) -> Iterator[PackProblem]:
    chart = CHART_KINDS[widget.chart]
    measure = MEASURES[widget.measure]
    if measure.needs_field and widget.field is None:
        yield problem_at(file, (*here, "field"), f"measure '{measure.name}' needs the number field it reads",
                         expected="a field of type integer, decimal, currency, percent or duration")
    elif not measure.needs_field and widget.field is not None:
        yield problem_at(file, (*here, "field"), "count counts records and reads no field",
                         hint="remove 'field', or measure 'sum' or 'avg' of it", found=widget.field)
    elif widget.field is not None:
        yield from _measured_field_problems(file, (*here, "field"), widget.field, entity, entities)
    if chart.needs_group and widget.group_by is None:
        yield problem_at(file, (*here, "group_by"), f"a {chart.label.lower()} needs a grouping",
                         expected='"group_by": {"field": ...}', hint="or show a single value with chart 'number'")
    if not chart.needs_group and widget.group_by is not None:
        yield problem_at(file, (*here, "group_by"), f"a {chart.label.lower()} shows one value and takes no grouping",
                         hint="remove 'group_by', or choose chart 'bar', 'donut', 'funnel' or 'line'")
    if widget.series is not None and not chart.allows_series:
        yield problem_at(file, (*here, "series"), f"a {chart.label.lower()} cannot show series",
                         hint="use chart 'bar' or 'line' to split each group into series")
    if widget.share and (widget.series is None or widget.chart != "bar"):
        yield problem_at(file, (*here, "share"), "shares are shown by a bar chart with series",
                         hint="add 'series' and use chart 'bar', or remove 'share'")
    for key in ("group_by", "series"):
        grouping = getattr(widget, key)
        if grouping is not None:
            yield from _grouping_problems(file, (*here, key), grouping, entity, entities)
    if widget.filter:
        yield from expression_problems(file, (*here, "filter"), widget.filter, entity, entities, "boolean")


def _path_problem(file: str, path: JsonPath, error: PathError) -> PackProblem:
    hint = did_you_mean(error.name, error.entity.field_names) if "has no field" in str(error) else None
    return problem_at(file, path, str(error), found=error.name, hint=hint)


def _measured_field_problems(file: str, path: JsonPath, name: str, entity: Entity,
                             entities: Mapping[str, Entity]) -> Iterator[PackProblem]:
    if "." in name:
        yield problem_at(file, path, "a measure reads a field of the widget's own entity", found=name,
                         expected="a field name without '.'")
        return
    try:
        resolved = resolve_path(entity, name, entities)
    except PathError as error:
        yield _path_problem(file, path, error)
        return
    if value_type(resolved.field) not in MEASURABLE_TYPES:
        yield problem_at(file, path, f"'{name}' is a {resolved.field.type} field and cannot be summed or averaged",
                         expected="a field of type integer, decimal, currency, percent or duration",
                         found=resolved.field.type)


def _grouping_problems(file: str, path: JsonPath, grouping: Grouping, entity: Entity,
                       entities: Mapping[str, Entity]) -> Iterator[PackProblem]:
    try:
        resolved = resolve_path(entity, grouping.field, entities)
    except PathError as error:
        yield _path_problem(file, (*path, "field"), error)
        return
    kind = group_kind(resolved.field)
    if kind is None:
        yield problem_at(file, (*path, "field"), f"records cannot be grouped by '{grouping.field}' "
                         f"(a {resolved.field.type} field)", found=resolved.field.type,
                         expected="a picklist, boolean, lookup, user, date, datetime, text or integer field")
    elif kind == "time" and grouping.bucket is None:
        yield problem_at(file, (*path, "bucket"), f"'{grouping.field}' is a {resolved.field.type}: say which period "
                         "each group spans", expected="one of " + ", ".join(BUCKETS))
    elif kind != "time" and grouping.bucket is not None:
        yield problem_at(file, (*path, "bucket"), f"only dates are bucketed; '{grouping.field}' is a "
                         f"{resolved.field.type} field", found=grouping.bucket, hint="remove 'bucket'")


def check_dashboards(scope: Scope) -> Iterator[PackProblem]:
    """Dashboard names are unique (in the pack and among installed packs); every widget checks."""
    counts = Counter(item.obj.name for item in scope.dashboards)
    for item in scope.dashboards:
        name = item.obj.name
        if counts[name] > 1:
            yield problem_at(item.file, ("name",), f"dashboard '{name}' is declared {counts[name]} times",
                             expected="each name once", found=name)
            counts[name] = 0
        owner = scope.installed.owner("dashboard", name)
        if owner is not None and owner != scope.pack_name:
            yield problem_at(item.file, ("name",), f"dashboard '{name}' already exists in installed pack '{owner}'",
                             expected="a name no installed pack uses", found=name)
        ready = {n: e for n, e in scope.all_entities.items() if n not in scope.broken_fields}
        yield from dashboard_problems(item.obj, item.file, ready,
                                      frozenset(scope.unbuilt_entities | set(scope.broken_fields)))
