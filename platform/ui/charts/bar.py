"""Bar charts: one bar per group; with series, the series stacked in each bar and a legend."""

from __future__ import annotations

from xrm.ui.charts import ChartData, Figure, LegendItem, Shape, register_chart
from xrm.ui.charts.axes import frame_for
from xrm.ui.charts.scale import color_at, text_color_on


@register_chart("bar")
def bar_chart(data: ChartData) -> Figure:
    totals = [sum(s.data[i].value for s in data.series) for i in range(len(data.categories))]
    frame, shapes = frame_for(data, max(totals, default=0))
    width = min(frame.band * 0.62, 72)
    for index, category in enumerate(data.categories):
        x = round(frame.center(index) - width / 2, 1)
        stacked = 0.0
        for position, series in enumerate(data.series):
            datum = series.data[index]
            if datum.value <= 0:
                continue
            color = (category.color or color_at(0)) if data.single else (series.color or color_at(position))
            top, bottom = frame.y(stacked + datum.value), frame.y(stacked)
            shapes.append(Shape("rect", {"x": x, "y": round(top, 1), "width": round(width, 1),
                                         "height": round(max(bottom - top, 1), 1), "fill": color, "class": "chart-mark"},
                                href=datum.href, label=datum.label))
            if not data.single and bottom - top >= 18 and width >= 7 * len(datum.short):
                shapes.append(Shape("text", {"x": round(frame.center(index), 1), "y": round((top + bottom) / 2 + 4, 1),
                                             "text-anchor": "middle", "fill": text_color_on(color),
                                             "class": "chart-inside"}, datum.short))
            stacked += datum.value
        if data.single and len(data.categories) <= 16 and stacked > 0:
            shapes.append(Shape("text", {"x": round(frame.center(index), 1), "y": round(frame.y(stacked) - 6, 1),
                                         "text-anchor": "middle", "class": "chart-value"}, data.series[0].data[index].short))
    legend = () if data.single else tuple(
        LegendItem(s.label, s.color or color_at(i)) for i, s in enumerate(data.series))
    return Figure("_chart_svg.html", frame.width, frame.height, tuple(shapes), legend, data.total)
