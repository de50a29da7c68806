"""The SVG chart kinds as plain data: marks sized by their values, every mark a labelled link, round axes."""

from __future__ import annotations

import re

import pytest

from xrm.ui.charts import CHARTS, Category, ChartData, Datum, SeriesData, render_chart
from xrm.ui.charts.scale import compact, nice_ticks, text_color_on


def data(values: list[float], *, series: int = 1, wide: bool = False) -> ChartData:
    categories = tuple(Category(f"c{i}", f"Group {i}", f"G{i}") for i in range(len(values)))
    lanes = tuple(
        SeriesData(f"s{s}", f"Series {s}", None, tuple(
            Datum(v, f"{v:g}", f"/app/x?filter=c{i}s{s}", f"Group {i}: {v:g}", f"{v:g}") for i, v in enumerate(values)))
        for s in range(series))
    total = Datum(sum(values) * series, "total", "/app/x", "All")
    return ChartData("w", "Title", categories, lanes, "Records", "Group", total, wide, single=series == 1, whole=True)


@pytest.mark.parametrize(("top", "whole", "ticks"), [
    (87, False, [0, 20, 40, 60, 80, 100]), (3, True, [0, 1, 2, 3]), (12, False, [0, 2.5, 5, 7.5, 10, 12.5]),
    (12, True, [0, 5, 10, 15]), (0, True, [0, 1]), (1_566_000, False, [0, 500_000, 1_000_000, 1_500_000, 2_000_000]),
])
def test_axes_tick_round_numbers_up_to_the_top(top: float, whole: bool, ticks: list[float]) -> None:
    assert nice_ticks(top, whole=whole) == ticks


def test_numbers_are_compact_on_axes_and_text_reads_on_its_fill() -> None:
    assert [compact(v) for v in (1_566_000, 45_000, 12.5, 7, 0)] == ["1.57M", "45k", "12.5", "7", "0"]
    assert text_color_on("#1b4398") == "#ffffff" and text_color_on("#c5ccd6") == "#1d2430"


def test_bars_are_as_tall_as_their_values_and_link_to_their_records() -> None:
    figure = render_chart("bar", data([2, 4, 1]))
    bars = [s for s in figure.shapes if s.kind == "rect"]
    assert [b.href for b in bars] == ["/app/x?filter=c0s0", "/app/x?filter=c1s0", "/app/x?filter=c2s0"]
    assert [b.label for b in bars] == ["Group 0: 2", "Group 1: 4", "Group 2: 1"]
    heights = [b.attrs["height"] for b in bars]
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.02) and heights[0] == pytest.approx(2 * heights[2], rel=0.02)
    assert not figure.legend, "one series: no legend"


def test_stacked_series_have_a_legend_and_stack_upwards() -> None:
    figure = render_chart("bar", data([2, 3], series=2, wide=True))
    assert figure.width == 1120 and [item.label for item in figure.legend] == ["Series 0", "Series 1"]
    first, second = [s for s in figure.shapes if s.kind == "rect" and s.href and s.href.startswith("/app/x?filter=c0")]
    assert second.attrs["y"] + second.attrs["height"] == pytest.approx(first.attrs["y"], abs=0.2)


def test_a_line_has_a_point_per_group() -> None:
    figure = render_chart("line", data([1, 5, 3]))
    assert [s.label for s in figure.shapes if s.kind == "circle"] == ["Group 0: 1", "Group 1: 5", "Group 2: 3"]
    assert len([s for s in figure.shapes if s.kind == "polyline"]) == 1


def test_funnel_bands_are_as_wide_as_their_share_of_the_largest() -> None:
    bands = [s for s in render_chart("funnel", data([10, 5])).shapes if s.kind == "rect"]
    assert bands[1].attrs["width"] == pytest.approx(bands[0].attrs["width"] / 2, rel=0.01)


def test_donut_segments_share_the_ring_and_one_group_makes_a_whole_ring() -> None:
    figure = render_chart("donut", data([1, 3]))
    arcs = [s for s in figure.shapes if s.kind == "path"]
    assert len(arcs) == 2 and [item.text for item in figure.legend] == ["1", "3"]
    large = [re.search(r"A118,118 0 (\d) 1", arc.attrs["d"]).group(1) for arc in arcs]
    assert large == ["0", "1"], "a quarter takes the short way round, three quarters the long way"
    assert len([s for s in render_chart("donut", data([4])).shapes if s.kind == "path"]) == 1


def test_every_chart_kind_is_registered() -> None:
    assert set(CHARTS) == {"bar", "line", "funnel", "donut", "number"}
    assert render_chart("number", data([2, 3])).template == "_chart_number.html"
