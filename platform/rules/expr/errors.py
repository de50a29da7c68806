"""Expression errors: values with a place (line, column, caret excerpt), collected, never parsed from strings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xrm.errors import XrmError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an expression, pointing at a line and column (both 1-based)."""

    line: int
    column: int
    message: str
    excerpt: str
    expected: str | None = None
    found: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.line}:{self.column}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return f"{text}\n{self.excerpt}"


def excerpt(source: str, line: int, column: int) -> str:
    """The source line at ``line`` and a caret under ``column``.

    Example: ``excerpt("amount > 'x'", 1, 10)`` is ``"amount > 'x'\\n         ^"``.
    """
    lines = source.splitlines() or [""]
    text = lines[min(max(line, 1), len(lines)) - 1] if line <= len(lines) else ""
    caret_at = max(column - 1, 0)
    # keep tabs so the caret lines up under the same characters in a terminal
    padding = "".join("\t" if ch == "\t" else " " for ch in text[:caret_at])
    padding += " " * max(caret_at - len(text), 0)
    return f"{text}\n{padding}^"


def problem(source: str, line: int, column: int, message: str, **details: str | None) -> Problem:
    """A ``Problem`` with its excerpt cut from ``source``."""
    return Problem(line, column, message, excerpt(source, line, column), **details)


class ExpressionError(XrmError):
    """An expression could not be parsed, checked or compiled; ``problems`` says where and why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=lambda p: (p.line, p.column)))
        assert self.problems, "an ExpressionError needs at least one problem"
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def first(self) -> Problem:
        return self.problems[0]
