"""Reading JSON files strictly: syntax errors with line:column, duplicate keys found."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xrm.metadata.problems import JsonPath, PackProblem, format_json_path


class _Object(dict):
    """A JSON object that remembers keys it saw twice (plain ``json`` keeps the last silently)."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in obj and key not in duplicates:
            duplicates.append(key)
        obj[key] = value
    obj.duplicates = tuple(duplicates)
    return obj


def _duplicate_keys(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            yield path, key
        for key, item in value.items():
            yield from _duplicate_keys(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _duplicate_keys(item, (*path, index))


@dataclass(frozen=True)
class JsonDocument:
    """A parsed JSON file, or why it could not be read."""

    file: str
    data: Any
    problems: tuple[PackProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def read_json(path: Path, display_name: str) -> JsonDocument:
    """Parse ``path``; problems name ``display_name`` (the path relative to the pack)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0)
        return JsonDocument(display_name, None, (PackProblem(
            display_name, f"the file is not UTF-8 text (byte {offset} cannot be decoded)",
            expected="a UTF-8 encoded JSON file",
        ),))
    try:
        data = json.loads(text, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as exc:
        return JsonDocument(display_name, None, (PackProblem(
            display_name, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno,
            hint=_syntax_hint(exc),
        ),))
    problems = tuple(
        PackProblem(
            display_name, f"key '{key}' appears more than once in the same object",
            path=format_json_path(where), expected="each key once",
            hint="JSON keeps only the last one, so the earlier value would be silently lost",
        )
        for where, key in _duplicate_keys(data)
    )
    return JsonDocument(display_name, data, problems)


def _syntax_hint(exc: json.JSONDecodeError) -> str | None:
    before = exc.doc[: exc.pos].rstrip()
    single_trailing_comma = before.endswith(",") and not before[:-1].rstrip().endswith((",", "[", "{"))
    if single_trailing_comma and exc.msg.startswith(("Expecting property name", "Expecting value")):
        return "JSON does not allow a comma after the last item"
    if exc.msg.startswith("Expecting ',' delimiter"):
        return "a comma is probably missing at the end of the previous line"
    if "'" in exc.doc[exc.pos : exc.pos + 1]:
        return "JSON strings use double quotes"
    return None
