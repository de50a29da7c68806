"""A single number: the measure over every record the widget counts, linking to their list."""

from __future__ import annotations

from xrm.ui.charts import ChartData, Figure, register_chart


@register_chart("number")
def number_chart(data: ChartData) -> Figure:
    return Figure("_chart_number.html", 0, 0, total=data.total)
