"""Funnels: the groups in order (stages, mostly), each a centred band as wide as its share of the largest, labelled."""

from __future__ import annotations

from xrm.ui.charts import ChartData, Figure, Shape, register_chart
from xrm.ui.charts.scale import color_at, fit

LABELS, VALUES, ROW, GAP = 150, 150, 40, 6


@register_chart("funnel")
def funnel_chart(data: ChartData) -> Figure:
    width = 1120 if data.wide else 560
    series = data.series[0]
    values = [d.value for d in series.data]
    highest = max(values, default=0) or 1
    area = width - LABELS - VALUES
    middle = LABELS + area / 2
    shapes: list[Shape] = []
    widths = [max(area * v / highest, 2) for v in values]
    for index, (category, datum) in enumerate(zip(data.categories, series.data, strict=True)):
        top = 8 + index * (ROW + GAP)
        shapes.append(Shape("rect", {"x": round(middle - widths[index] / 2, 1), "y": top, "width": round(widths[index], 1),
                                     "height": ROW, "rx": 4, "fill": category.color or color_at(index),
                                     "class": "chart-mark"}, href=datum.href, label=datum.label))
        shapes.append(Shape("text", {"x": LABELS - 10, "y": top + ROW / 2 + 5, "text-anchor": "end",
                                     "class": "chart-label"}, fit(category.label, 20)))
        shapes.append(Shape("text", {"x": width - VALUES + 10, "y": top + ROW / 2 + 5, "class": "chart-value"},
                            datum.short))
    height = 16 + len(data.categories) * (ROW + GAP)
    return Figure("_chart_svg.html", width, height, tuple(shapes), (), data.total)
