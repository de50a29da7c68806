"""Reading JSON files strictly: syntax errors with line:column and a hint, duplicate keys, encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from xrm.metadata.jsonfiles import JsonDocument, read_json

DUPLICATE_HINT = "JSON keeps only the last one, so the earlier value would be silently lost"


def read_text(tmp_path: Path, text: str, name: str = "entities/thing.json") -> JsonDocument:
    path = tmp_path / "file.json"
    path.write_text(text, encoding="utf-8")
    return read_json(path, name)


def read_bytes(tmp_path: Path, data: bytes, name: str = "entities/thing.json") -> JsonDocument:
    path = tmp_path / "file.json"
    path.write_bytes(data)
    return read_json(path, name)


def test_valid_file_is_parsed_without_problems(tmp_path: Path) -> None:
    doc = read_text(tmp_path, '{"name": "thing", "fields": [{"name": "a"}], "n": 1.5}')
    assert doc.ok
    assert doc.problems == ()
    assert doc.data == {"name": "thing", "fields": [{"name": "a"}], "n": 1.5}
    assert doc.file == "entities/thing.json"


def test_problems_name_the_display_name_not_the_disk_path(tmp_path: Path) -> None:
    doc = read_text(tmp_path, "{", name="views/people.json")
    assert [p.file for p in doc.problems] == ["views/people.json"]
    assert str(tmp_path) not in str(doc.problems[0])


@pytest.mark.parametrize(
    ("text", "path", "key"),
    [
        ('{"a": 1, "a": 2}', "$", "a"),
        ('{"fields": [{"name": "x"}, {"name": "y", "type": "t", "type": "u"}]}', "$.fields[1]", "type"),
        ('{"permissions": {"lead": {"read": true, "read": false}}}', "$.permissions.lead", "read"),
        ('[[{"k": 1, "k": 1}]]', "$[0][0]", "k"),
    ],
)
def test_duplicate_key_is_reported_with_the_json_path_of_its_object(tmp_path: Path, text: str, path: str, key: str) -> None:
    doc = read_text(tmp_path, text)
    [problem] = doc.problems
    assert (problem.file, problem.path, problem.message) == (
        "entities/thing.json", path, f"key '{key}' appears more than once in the same object",
    )
    assert problem.expected == "each key once"
    assert problem.hint == DUPLICATE_HINT
    assert problem.severity == "error"
    assert not doc.ok


def test_document_with_duplicate_keys_still_has_its_data(tmp_path: Path) -> None:
    """Later stages can still look at it; the value kept is the last one, as plain JSON would."""
    doc = read_text(tmp_path, '{"a": 1, "b": {"c": 2}, "a": 3}')
    assert doc.data == {"a": 3, "b": {"c": 2}}


def test_duplicate_keys_in_several_objects_are_all_reported_in_document_order(tmp_path: Path) -> None:
    doc = read_text(tmp_path, '{"x": 0, "x": 0, "items": [{"a": 1, "a": 1}, {"b": 1, "c": 2, "b": 3}]}')
    assert [(p.path, p.message.split("'")[1]) for p in doc.problems] == [
        ("$", "x"), ("$.items[0]", "a"), ("$.items[1]", "b"),
    ]


def test_same_key_in_different_objects_is_not_a_duplicate(tmp_path: Path) -> None:
    doc = read_text(tmp_path, '{"name": "t", "fields": [{"name": "a"}, {"name": "b"}]}')
    assert doc.ok


@pytest.mark.parametrize(
    ("text", "line", "column", "message", "hint"),
    [
        ('{"a": 1,\n}', 2, 1, "invalid JSON: Expecting property name enclosed in double quotes",
         "JSON does not allow a comma after the last item"),
        ('[1, 2,\n  ]', 2, 3, "invalid JSON: Expecting value", "JSON does not allow a comma after the last item"),
        ('{"a": 1\n "b": 2}', 2, 2, "invalid JSON: Expecting ',' delimiter",
         "a comma is probably missing at the end of the previous line"),
        ("{'a': 1}", 1, 2, "invalid JSON: Expecting property name enclosed in double quotes",
         "JSON strings use double quotes"),
        ('{"a": \'x\'}', 1, 7, "invalid JSON: Expecting value", "JSON strings use double quotes"),
        ('{"a": tru}', 1, 7, "invalid JSON: Expecting value", None),
        ("", 1, 1, "invalid JSON: Expecting value", None),
        ('{"a": 1} 2', 1, 10, "invalid JSON: Extra data", None),
    ],
)
def test_syntax_error_has_line_column_and_hint(
    tmp_path: Path, text: str, line: int, column: int, message: str, hint: str | None,
) -> None:
    doc = read_text(tmp_path, text)
    [problem] = doc.problems
    assert (problem.line, problem.column, problem.message, problem.hint) == (line, column, message, hint)
    assert problem.path is None
    assert doc.data is None
    assert not doc.ok
    assert str(problem).startswith(f"entities/thing.json:{line}:{column}: error: {message}")


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    doc = read_bytes(tmp_path, b'\xef\xbb\xbf{"name": "caf\xc3\xa9"}')
    assert doc.ok
    assert doc.data == {"name": "café"}


@pytest.mark.parametrize(
    ("data", "byte"),
    [
        (b'{"a": "caf\xe9"}', 10),  # Latin-1 é
        ('{"a": 1}'.encode("utf-16"), 0),  # UTF-16 starts with its own BOM, not valid UTF-8
    ],
)
def test_non_utf8_file_is_reported_with_the_offending_byte(tmp_path: Path, data: bytes, byte: int) -> None:
    doc = read_bytes(tmp_path, data)
    [problem] = doc.problems
    assert problem.message == f"the file is not UTF-8 text (byte {byte} cannot be decoded)"
    assert problem.expected == "a UTF-8 encoded JSON file"
    assert (problem.file, problem.line, problem.path) == ("entities/thing.json", None, None)
    assert doc.data is None


def test_non_utf8_byte_offset_counts_the_byte_order_mark(tmp_path: Path) -> None:
    doc = read_bytes(tmp_path, b'\xef\xbb\xbf{"a": "caf\xe9"}')
    assert doc.problems[0].message == "the file is not UTF-8 text (byte 13 cannot be decoded)"


def test_key_written_three_times_is_one_problem(tmp_path: Path) -> None:
    doc = read_text(tmp_path, '{"a": 1, "a": 2, "a": 3}')
    assert len(doc.problems) == 1
