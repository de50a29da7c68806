"""Pack problems: what is wrong, in which file, where in it, and what would be right."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from xrm.errors import XrmError

Severity = Literal["error", "warning"]
JsonPath = tuple[str | int, ...]


_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def format_json_path(path: Iterable[str | int]) -> str:
    """``("fields", 2, "type")`` → ``$.fields[2].type``; odd keys are quoted: ``$['a b']``."""
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}"
        else:
            text += f"[{json.dumps(part)}]"
    return text


@dataclass(frozen=True)
class PackProblem:
    """One thing wrong with a pack, located by file and JSON path or line:column."""

    file: str
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None
    expected: str | None = None
    found: str | None = None
    hint: str | None = None
    severity: Severity = "error"
    #: A stable name of the kind of problem (e.g. "unknown_entity"), for programs.
    code: str | None = None

    #: The offending source line with a caret under the column (expressions, rules).
    excerpt: str | None = None

    @property
    def location(self) -> str:
        """``file:line:col`` for file syntax; ``file $.path`` for JSON; ``file $.path at line:col`` inside an expression."""
        if self.path and self.line is not None:
            return f"{self.file} {self.path} at {self.line}:{self.column or 1}"
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        if self.path:
            where += f" {self.path}"
        return where

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        # expected/found stay structured for API clients; repeat them only when the message does not say them
        details = [f"expected {self.expected}"] if self.expected and self.expected not in self.message else []
        if self.found is not None and self.found not in self.message:
            details.append(f"found {self.found}")
        if details:
            text += f" ({', '.join(details)})"
        if self.hint:
            text += f" — {self.hint}"
        return text


class PackInvalid(XrmError):
    """A pack has errors; nothing of it was installed."""

    def __init__(self, pack: str, problems: Sequence[PackProblem]) -> None:
        self.pack = pack
        self.problems = tuple(problems)
        errors = sum(p.severity == "error" for p in self.problems)
        super().__init__(f"pack {pack} has {errors} error{'s' if errors != 1 else ''}")


def has_errors(problems: Iterable[PackProblem]) -> bool:
    return any(p.severity == "error" for p in problems)
