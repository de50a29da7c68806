"""Charts drawn on the server as SVG: one module per chart kind, registered by name.

A dashboard page turns an aggregate into ``ChartData`` (categories, series,
values with their text, links and labels); a chart kind turns that into a
``Figure``: plain shapes with coordinates, which one template draws
(``_chart_svg.html``), or a template of its own (``_chart_number.html``).
Every mark that stands for records is a link to the list of those records
and carries its label (``<title>`` and ``aria-label``), so the numbers are
there without JavaScript and for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Datum:
    """One number of a chart: its value, as text, the records' list it links to, and what it says."""

    value: float
    text: str
    href: str
    label: str
    #: the number as a chart shows it beside a mark (``171k USD``)
    short: str = ""


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    short: str
    color: str | None = None


@dataclass(frozen=True)
class SeriesData:
    key: str
    label: str
    color: str | None
    #: one per category, in category order
    data: tuple[Datum, ...]


@dataclass(frozen=True)
class ChartData:
    id: str
    title: str
    categories: tuple[Category, ...]
    series: tuple[SeriesData, ...]
    #: axis titles: the measure ("Amount (sum)") and the grouping ("Stage")
    value_label: str
    category_label: str
    total: Datum
    wide: bool = False
    #: True when there is one series only because the widget has none (bars then take their category's colour)
    single: bool = True
    #: values are counts: the axis ticks whole numbers
    whole: bool = False


@dataclass(frozen=True)
class Shape:
    """One SVG element: ``kind`` is its tag, ``attrs`` its attributes; ``href`` makes it a link."""

    kind: str
    attrs: Mapping[str, Any]
    text: str | None = None
    href: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    text: str | None = None
    href: str | None = None


@dataclass(frozen=True)
class Figure:
    template: str
    width: int
    height: int
    shapes: tuple[Shape, ...] = ()
    legend: tuple[LegendItem, ...] = ()
    total: Datum | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


Renderer = Callable[[ChartData], Figure]
CHARTS: dict[str, Renderer] = {}


def register_chart(name: str) -> Callable[[Renderer], Renderer]:
    """``@register_chart("bar")`` on a function ``ChartData → Figure``."""
    def add(renderer: Renderer) -> Renderer:
        assert name not in CHARTS, f"chart kind {name!r} is registered twice"
        CHARTS[name] = renderer
        return renderer
    return add


def render_chart(kind: str, data: ChartData) -> Figure:
    return CHARTS[kind](data)


# the chart kinds register themselves on import
from xrm.ui.charts import bar, donut, funnel, line, number  # noqa: E402, F401
