"""Dashboards: the model of a pack's ``dashboards/<name>.json``, its builder, and what a widget may ask for.

A dashboard is a grid of widgets; a widget is one aggregate query over an
entity — a *measure* (count, or sum / average of a number field) grouped by a
field path (``stage``, ``partner.tier``) or a date bucket (``created_at`` by
week), optionally split into *series* by a second grouping, filtered by an
expression — shown as one *chart kind*.  The registries below say what each
measure, bucket and chart kind accepts; the runtime (``xrm.runtime.aggregates``)
and the UI (``xrm.ui.charts``) implement them under the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import Any

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field


@dataclass(frozen=True)
class Grouping:
    """How a widget splits its records: by the value at ``field`` (a path across lookups) or its date ``bucket``."""

    field: str
    bucket: str | None = None
    #: Labels that replace the shown name of a value (``{"true": "Breached"}``).
    labels: Mapping[str, str] = dataclass_field(default_factory=lambda: MappingProxyType({}))
    #: Colours of values (``{"true": "#d1495b"}``), over the picklist options' own.
    colors: Mapping[str, str] = dataclass_field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Widget:
    name: str
    title: str
    entity: str
    chart: str
    measure: str = "count"
    #: The measured field (sum and average); count counts records.
    field: str | None = None
    group_by: Grouping | None = None
    series: Grouping | None = None
    filter: str | None = None
    #: Grid columns the widget spans (1 or 2).
    width: int = 1
    description: str | None = None
    #: Show each series as its share of the group (bars stacked to 100 %): rates, e.g. of responses.
    share: bool = False


@dataclass(frozen=True)
class Dashboard:
    name: str
    label: str
    widgets: tuple[Widget, ...]
    description: str | None = None


# -- registries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureKind:
    name: str
    label: str
    #: Whether the measure reads a field (sum, average) or counts records.
    needs_field: bool


@dataclass(frozen=True)
class ChartKind:
    name: str
    label: str
    #: Whether the chart shows groups (everything but a single number).
    needs_group: bool
    #: Whether a second grouping (series) can be shown.
    allows_series: bool


MEASURES: dict[str, MeasureKind] = {}
CHART_KINDS: dict[str, ChartKind] = {}
#: Date buckets by name → label (the runtime implements each in SQL).
BUCKETS: dict[str, str] = {}
#: Expression value types a measured field may have.
MEASURABLE_TYPES = frozenset({"integer", "decimal", "duration"})


def _register(registry: dict[str, Any], name: str, item: Any) -> None:
    assert name not in registry, f"{name!r} is registered twice"
    registry[name] = item


def register_measure(measure: MeasureKind) -> None:
    _register(MEASURES, measure.name, measure)


def register_chart_kind(kind: ChartKind) -> None:
    _register(CHART_KINDS, kind.name, kind)


def register_bucket(name: str, label: str) -> None:
    _register(BUCKETS, name, label)


for _measure in (MeasureKind("count", "Count", False), MeasureKind("sum", "Sum", True),
                 MeasureKind("avg", "Average", True)):
    register_measure(_measure)
for _chart in (ChartKind("bar", "Bar chart", True, True), ChartKind("line", "Line chart", True, True),
               ChartKind("funnel", "Funnel", True, False), ChartKind("donut", "Donut", True, False),
               ChartKind("number", "Number", False, False)):
    register_chart_kind(_chart)
for _bucket, _label in (("day", "Day"), ("week", "Week"), ("month", "Month"), ("quarter", "Quarter"),
                        ("year", "Year")):
    register_bucket(_bucket, _label)


# -- field paths --------------------------------------------------------------------------------

#: System columns a widget may group by or filter on, as pseudo-fields.
SYSTEM_FIELDS: Mapping[str, Field] = MappingProxyType({
    "created_at": Field("created_at", "datetime", "Created at"),
    "updated_at": Field("updated_at", "datetime", "Updated at"),
    "owner_id": Field("owner_id", "user", "Owner"),
    "owner_queue_id": Field("owner_queue_id", "lookup", "Queue", target="queue"),
})


@dataclass(frozen=True)
class ResolvedPath:
    """A field path resolved through lookups: the field at its end and the entity that declares it."""

    path: str
    field: Field
    entity: Entity
    #: The labels along the way, for titles ("Partner › Tier").
    label: str


class PathError(ValueError):
    """A path that does not resolve: ``position`` is the index of the bad step."""

    def __init__(self, message: str, position: int, entity: Entity, name: str) -> None:
        super().__init__(message)
        self.position, self.entity, self.name = position, entity, name


def field_of(entity: Entity, name: str) -> Field | None:
    return entity.field(name) or SYSTEM_FIELDS.get(name)


def resolve_path(entity: Entity, path: str, entities: Mapping[str, Entity]) -> ResolvedPath:
    """``partner.tier`` on deal_registration → the ``tier`` field of ``partner``; raises ``PathError``."""
    steps = path.split(".")
    current, labels = entity, []
    for position, name in enumerate(steps):
        field = field_of(current, name)
        if field is None:
            raise PathError(f"entity '{current.name}' has no field '{name}'", position, current, name)
        labels.append(field.label)
        if position == len(steps) - 1:
            return ResolvedPath(path, field, current, " › ".join(labels))
        target = entities.get(field.target or "") if field.type == "lookup" else None
        if target is None:
            raise PathError(f"'{name}' of '{current.name}' is not a lookup, so '{steps[position + 1]}' cannot follow it",
                            position, current, name)
        current = target
    raise PathError("an empty path", 0, entity, path)  # unreachable: split gives at least one step


def value_type(field: Field) -> str:
    """The expression-language type of the field's values (``ref:account`` for lookups)."""
    return get_field_type(field.type).value_type_of(field)


def group_kind(field: Field) -> str | None:
    """How values of ``field`` group: choice, flag, reference, time or value (None: they cannot)."""
    kind = value_type(field)
    if field.type == "picklist":
        return "choice"
    if kind == "boolean":
        return "flag"
    if kind.startswith("ref:") or field.type in ("lookup", "user"):
        return "reference"
    if kind in ("date", "datetime"):
        return "time"
    if kind in ("text", "integer"):
        return "value"
    return None


# -- building -----------------------------------------------------------------------------------

Document = Mapping[str, Any]


def _grouping(doc: Document | None) -> Grouping | None:
    if not doc:
        return None
    return Grouping(doc["field"], doc.get("bucket"), MappingProxyType(dict(doc.get("labels") or {})),
                    MappingProxyType(dict(doc.get("colors") or {})))


def build_widget(doc: Document) -> Widget:
    return Widget(
        name=doc["name"], title=doc["title"], entity=doc["entity"], chart=doc["chart"],
        measure=doc.get("measure", "count"), field=doc.get("field"), group_by=_grouping(doc.get("group_by")),
        series=_grouping(doc.get("series")), filter=doc.get("filter"), width=doc.get("width", 1),
        description=doc.get("description"), share=doc.get("share", False),
    )


def build_dashboard(doc: Document) -> Dashboard:
    return Dashboard(name=doc["name"], label=doc["label"], description=doc.get("description"),
                     widgets=tuple(build_widget(w) for w in doc["widgets"]))
