"""The frame of bar and line charts: a value axis with round ticks and gridlines, category labels, axis titles."""

from __future__ import annotations

from dataclasses import dataclass

from xrm.ui.charts import ChartData, Shape
from xrm.ui.charts.scale import compact, fit, nice_ticks

LEFT, RIGHT, TOP, BOTTOM = 64, 16, 18, 58
HEIGHT = 300


@dataclass(frozen=True)
class Frame:
    """Where the plot sits and how values map onto it."""

    width: int
    height: int
    top_value: float
    count: int

    @property
    def plot_width(self) -> float:
        return self.width - LEFT - RIGHT

    @property
    def plot_height(self) -> float:
        return self.height - TOP - BOTTOM

    @property
    def band(self) -> float:
        return self.plot_width / max(self.count, 1)

    def center(self, index: int) -> float:
        return LEFT + self.band * (index + 0.5)

    def y(self, value: float) -> float:
        return TOP + self.plot_height * (1 - max(value, 0) / self.top_value)

    @property
    def baseline(self) -> float:
        return TOP + self.plot_height


def frame_for(data: ChartData, highest: float) -> tuple[Frame, list[Shape]]:
    """The frame fitting values up to ``highest``, and its shapes (grid, ticks, labels, titles)."""
    width = 1120 if data.wide else 560
    ticks = nice_ticks(highest, whole=data.whole)
    frame = Frame(width, HEIGHT, ticks[-1], len(data.categories))
    shapes: list[Shape] = []
    for tick in ticks:
        y = round(frame.y(tick), 1)
        shapes.append(Shape("line", {"x1": LEFT, "x2": width - RIGHT, "y1": y, "y2": y,
                                     "class": "chart-axis" if tick == 0 else "chart-grid"}))
        shapes.append(Shape("text", {"x": LEFT - 8, "y": y + 4, "text-anchor": "end", "class": "chart-tick"},
                            compact(tick)))
    slanted = frame.band < 64
    limit = 14 if slanted else max(int(frame.band / 7), 4)
    for index, category in enumerate(data.categories):
        x, y = round(frame.center(index), 1), frame.baseline + 16
        attrs = {"x": x, "y": y, "text-anchor": "middle", "class": "chart-tick"}
        if slanted:
            attrs = {**attrs, "text-anchor": "end", "transform": f"rotate(-30 {x} {y - 4})"}
        shapes.append(Shape("text", attrs, fit(category.short, limit)))
    shapes.append(Shape("text", {"x": 14, "y": TOP + frame.plot_height / 2, "text-anchor": "middle",
                                 "transform": f"rotate(-90 14 {TOP + frame.plot_height / 2})", "class": "chart-axis-title"},
                        data.value_label))
    if not slanted:
        shapes.append(Shape("text", {"x": LEFT + frame.plot_width / 2, "y": HEIGHT - 8, "text-anchor": "middle",
                                     "class": "chart-axis-title"}, data.category_label))
    return frame, shapes
