"""Line charts: one line per series over the groups (periods, mostly), each point a link."""

from __future__ import annotations

from xrm.ui.charts import ChartData, Figure, LegendItem, Shape, register_chart
from xrm.ui.charts.axes import frame_for
from xrm.ui.charts.scale import color_at


@register_chart("line")
def line_chart(data: ChartData) -> Figure:
    highest = max((d.value for s in data.series for d in s.data), default=0)
    frame, shapes = frame_for(data, highest)
    for position, series in enumerate(data.series):
        color = series.color or color_at(position)
        points = [(round(frame.center(i), 1), round(frame.y(d.value), 1)) for i, d in enumerate(series.data)]
        if len(points) > 1:
            shapes.append(Shape("polyline", {"points": " ".join(f"{x},{y}" for x, y in points), "fill": "none",
                                             "stroke": color, "class": "chart-line"}))
        for (x, y), datum in zip(points, series.data, strict=True):
            shapes.append(Shape("circle", {"cx": x, "cy": y, "r": 4.5, "fill": color, "class": "chart-mark chart-dot"},
                                href=datum.href, label=datum.label))
    legend = () if data.single else tuple(
        LegendItem(s.label, s.color or color_at(i)) for i, s in enumerate(data.series))
    return Figure("_chart_svg.html", frame.width, frame.height, tuple(shapes), legend, data.total)
