"""Durations as people and the rule language write them: ``30m``, ``4h``, ``3d``, ``2w``, ``1d 4h``.

Stored as whole seconds.  Example: ``parse_duration("1d 4h") == 100800`` and
``format_duration(100800) == "1d 4h"``.
"""

from __future__ import annotations

import re

UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}

_PART = re.compile(r"\s*(\d+)\s*([wdhms])", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """Seconds in ``text``; raises ValueError when it is not a duration."""
    text = text.strip()
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    position, total = 0, 0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        total += int(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]
        position = match.end()
    if position == 0 or text[position:].strip():
        raise ValueError(f"'{text}' is not a duration (examples: 30m, 4h, 3d, 2w, 1d 4h)")
    return -total if negative else total


def format_duration(seconds: int) -> str:
    """The shortest readable form of ``seconds``, largest units first."""
    if seconds == 0:
        return "0m"
    sign, remaining, parts = ("-" if seconds < 0 else ""), abs(seconds), []
    for unit, size in UNIT_SECONDS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + " ".join(parts)
