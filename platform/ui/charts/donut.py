"""Donuts: each group's share of the whole as an arc, the total in the middle, a legend with the numbers."""

from __future__ import annotations

import math

from xrm.ui.charts import ChartData, Figure, LegendItem, Shape, register_chart
from xrm.ui.charts.scale import color_at

SIZE, OUTER, INNER = 260, 118, 72


def _point(angle: float, radius: float) -> tuple[float, float]:
    return SIZE / 2 + radius * math.sin(angle), SIZE / 2 - radius * math.cos(angle)


def _arc(start: float, end: float) -> str:
    """A ring segment from angle ``start`` to ``end`` (radians, clockwise from the top)."""
    end = min(end, start + 2 * math.pi - 1e-4)  # a full circle is drawn as nearly full
    large = 1 if end - start > math.pi else 0
    (x1, y1), (x2, y2) = _point(start, OUTER), _point(end, OUTER)
    (x3, y3), (x4, y4) = _point(end, INNER), _point(start, INNER)
    return (f"M{x1:.2f},{y1:.2f} A{OUTER},{OUTER} 0 {large} 1 {x2:.2f},{y2:.2f} "
            f"L{x3:.2f},{y3:.2f} A{INNER},{INNER} 0 {large} 0 {x4:.2f},{y4:.2f} Z")


@register_chart("donut")
def donut_chart(data: ChartData) -> Figure:
    series = data.series[0]
    whole = sum(max(d.value, 0) for d in series.data)
    shapes: list[Shape] = []
    legend: list[LegendItem] = []
    angle = 0.0
    for index, (category, datum) in enumerate(zip(data.categories, series.data, strict=True)):
        color = category.color or color_at(index)
        legend.append(LegendItem(category.label, color, datum.text, datum.href))
        if datum.value <= 0 or whole <= 0:
            continue
        share = datum.value / whole * 2 * math.pi
        shapes.append(Shape("path", {"d": _arc(angle, angle + share), "fill": color, "class": "chart-mark"},
                            href=datum.href, label=datum.label))
        angle += share
    if whole <= 0:
        shapes.append(Shape("circle", {"cx": SIZE / 2, "cy": SIZE / 2, "r": (OUTER + INNER) / 2, "fill": "none",
                                       "class": "chart-empty-ring", "stroke-width": OUTER - INNER}))
    shapes.append(Shape("text", {"x": SIZE / 2, "y": SIZE / 2 + 2, "text-anchor": "middle", "class": "chart-center"},
                        data.total.short))
    shapes.append(Shape("text", {"x": SIZE / 2, "y": SIZE / 2 + 22, "text-anchor": "middle", "class": "chart-tick"},
                        "in total"))
    return Figure("_chart_svg.html", SIZE, SIZE, tuple(shapes), tuple(legend), data.total)
