"""Durations as people write them: parse and format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xrm.metadata.durations import UNIT_SECONDS, format_duration, parse_duration

UNITS = list(UNIT_SECONDS)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1d 4h", 100800),
        ("30m", 1800),
        ("4h", 14400),
        ("3d", 259200),
        ("2w", 1209600),
        ("45s", 45),
        ("0m", 0),
        ("1d4h", 100800),
        ("1 d 4 h", 100800),
        ("  1D 4H  ", 100800),
        ("90m", 5400),
        ("1h 1h", 7200),  # parts add up
        ("-15m", -900),
        ("-1d 4h", -100800),  # the sign covers the whole duration
        ("1w 2d 3h 4m 5s", 604800 + 172800 + 10800 + 240 + 5),
    ],
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "   ", "4", "h", "4x", "4 hours", "1d and 4h", "1d-4h", "1d 4", "--5m", "+5m", "1.5h", "d1", "-", "1d,4h", "soon"],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration \(examples: 30m, 4h, 3d, 2w, 1d 4h\)"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0m"),
        (45, "45s"),
        (1800, "30m"),
        (5400, "1h 30m"),
        (100800, "1d 4h"),
        (604800, "1w"),
        (694861, "1w 1d 1h 1m 1s"),
        (-900, "-15m"),
        (-100800, "-1d 4h"),
    ],
)
def test_format(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_format_then_parse_gives_the_seconds_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(UNITS + [u.upper() for u in UNITS])), min_size=1, max_size=6), st.sampled_from(["", " ", "  "]))
def test_parse_adds_up_the_parts(parts: list[tuple[int, str]], separator: str) -> None:
    text = separator.join(f"{count}{unit}" for count, unit in parts)
    assert parse_duration(text) == sum(count * UNIT_SECONDS[unit.lower()] for count, unit in parts)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_is_canonical(seconds: int) -> None:
    text = format_duration(seconds)
    assert format_duration(parse_duration(text)) == text
    # largest units first, each unit at most once
    units = [part[-1] for part in text.lstrip("-").split()]
    assert units == sorted(set(units), key=UNITS.index)


@given(st.integers(min_value=1, max_value=10**12))
def test_negative_is_the_mirror_of_positive(seconds: int) -> None:
    assert format_duration(-seconds) == "-" + format_duration(seconds)
    assert parse_duration(format_duration(-seconds)) == -seconds
