"""What every chart needs: a calm palette, round axis ticks, compact numbers, text that fits."""

from __future__ import annotations

import math

#: Calm colours that sit well with xrm.css's blue accent, used when a picklist option declares none.
PALETTE = ("#2457c5", "#2a9d8f", "#e9a23b", "#8e6cc2", "#d1495b", "#4f9fd6", "#6c7a89", "#b5835a",
           "#57a773", "#c06c84")


def color_at(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ticks(top: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round tick values from 0 up to at least ``top``: ``nice_ticks(87)`` → ``[0, 20, 40, 60, 80, 100]``;
    ``whole`` keeps to whole numbers (counts)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = max(top / count, 1) if whole else top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    ticks, value = [], 0.0
    while True:
        ticks.append(value)
        if value >= top:
            return ticks
        value = round(value + step, 10)


def compact(value: float) -> str:
    """An axis number: ``1566000`` → ``1.57M``, ``45000`` → ``45k``, ``12.5`` → ``12.5``."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if value != int(value) else f"{int(value)}"


def text_color_on(fill: str) -> str:
    """Ink or white, whichever reads better on ``fill`` (``#rrggbb``), by WCAG relative luminance."""
    channels = [int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#1d2430" if luminance > 0.22 else "#ffffff"


def fit(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters with an ellipsis."""
    return text if len(text) <= length else text[: max(length - 1, 1)].rstrip() + "…"
