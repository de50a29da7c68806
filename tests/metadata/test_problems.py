"""Pack problems: JSON paths, locations, the one-line rendering, and the exception that carries them."""

from __future__ import annotations

import pytest

from xrm.errors import XrmError
from xrm.metadata.problems import PackInvalid, PackProblem, format_json_path, has_errors


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ((), "$"),
        (("fields",), "$.fields"),
        (("fields", 2, "type"), "$.fields[2].type"),
        (("fields", 10), "$.fields[10]"),
        (("permissions", "lead", "hidden_fields", 0), "$.permissions.lead.hidden_fields[0]"),
        ((0, 1), "$[0][1]"),
    ],
)
def test_format_json_path(parts: tuple, text: str) -> None:
    assert format_json_path(parts) == text


def test_format_json_path_accepts_any_iterable() -> None:
    assert format_json_path(iter(["a", 3])) == "$.a[3]"


@pytest.mark.parametrize(
    ("problem", "location"),
    [
        (PackProblem("pack.json", "m"), "pack.json"),
        (PackProblem("entities/a.json", "m", path="$.fields[0]"), "entities/a.json $.fields[0]"),
        (PackProblem("entities/a.json", "m", line=6, column=3), "entities/a.json:6:3"),
        (PackProblem("entities/a.json", "m", line=6), "entities/a.json:6:1"),
        (PackProblem("entities/a.json", "m", path="$.validations[0].check", line=1, column=19),
         "entities/a.json $.validations[0].check at 1:19"),
        (PackProblem("entities/a.json", "m", path="$.filter", line=2), "entities/a.json $.filter at 2:1"),
    ],
)
def test_location(problem: PackProblem, location: str) -> None:
    assert problem.location == location


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (PackProblem("a.json", "bad"), "a.json: error: bad"),
        (PackProblem("a.json", "bad", severity="warning"), "a.json: warning: bad"),
        (PackProblem("a.json", "bad", path="$.x", expected="a list"), "a.json $.x: error: bad (expected a list)"),
        (PackProblem("a.json", "bad", found="7"), "a.json: error: bad (found 7)"),
        (PackProblem("a.json", "bad", expected="a list", found="7"), "a.json: error: bad (expected a list, found 7)"),
        (PackProblem("a.json", "bad", hint="try this"), "a.json: error: bad — try this"),
        (PackProblem("a.json", "bad", expected="a list", hint="try this"), "a.json: error: bad (expected a list) — try this"),
        # details the message already says are not repeated
        (PackProblem("a.json", "expected a list, found 7", expected="a list", found="7"),
         "a.json: error: expected a list, found 7"),
        (PackProblem("a.json", "unknown state 'high'", expected="one of low, mid", found="high"),
         "a.json: error: unknown state 'high' (expected one of low, mid)"),
    ],
)
def test_str_renders_location_severity_message_details_and_hint(problem: PackProblem, text: str) -> None:
    assert str(problem) == text


def test_problems_are_frozen_values() -> None:
    problem = PackProblem("a.json", "bad", path="$.x")
    assert problem == PackProblem("a.json", "bad", path="$.x")
    assert problem != PackProblem("a.json", "bad", path="$.y")
    with pytest.raises(AttributeError):
        problem.message = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("severities", "message"),
    [
        (["error"], "pack crm has 1 error"),
        (["error", "error"], "pack crm has 2 errors"),
        (["error", "warning", "warning"], "pack crm has 1 error"),
        (["warning"], "pack crm has 0 errors"),
        ([], "pack crm has 0 errors"),
    ],
)
def test_pack_invalid_counts_only_errors(severities: list, message: str) -> None:
    problems = [PackProblem("a.json", f"p{i}", severity=s) for i, s in enumerate(severities)]
    exc = PackInvalid("crm", problems)
    assert str(exc) == message
    assert exc.pack == "crm"
    assert exc.problems == tuple(problems)
    assert isinstance(exc, XrmError)


@pytest.mark.parametrize(
    ("severities", "expected"),
    [([], False), (["warning"], False), (["warning", "error"], True), (["error"], True)],
)
def test_has_errors(severities: list, expected: bool) -> None:
    problems = (PackProblem("a.json", "m", severity=s) for s in severities)  # any iterable, even a generator
    assert has_errors(problems) is expected
