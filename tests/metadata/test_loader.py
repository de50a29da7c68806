"""Reading a pack folder: the manifest, one JSON document per object file, stray files, rule file globs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES_DIR
from xrm.metadata.loader import MANIFEST, read_pack
from xrm.metadata.model import RuleFile

TINY = FIXTURES_DIR / "packs" / "tiny"
STRAY_EXPECTED = "JSON files in entities/, views/, workflows/, roles/, dashboards/"


def make_pack(root: Path, files: dict[str, str | dict | bytes]) -> Path:
    """A pack folder with ``files`` (relative path → text, JSON object or bytes)."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return root


def manifest(**extra: object) -> dict:
    return {"name": "p", "version": "1.0", "label": "P", **extra}


def test_tiny_pack_is_read_by_kind_in_path_order() -> None:
    source = read_pack(TINY)
    assert source.problems == ()
    assert source.root == TINY
    assert source.manifest is not None and source.manifest.data["name"] == "tiny"
    assert source.manifest.file == MANIFEST
    assert [(kind, doc.file) for kind, doc in source.documents] == [
        ("entity", "entities/company.json"),
        ("entity", "entities/person.json"),
        ("role", "roles/editor.json"),
        ("view", "views/people.json"),
        ("workflow", "workflows/person_stage.json"),
    ]
    assert source.rule_files == ()


@pytest.mark.parametrize(
    ("kind", "files"),
    [
        ("entity", ["entities/company.json", "entities/person.json"]),
        ("view", ["views/people.json"]),
        ("workflow", ["workflows/person_stage.json"]),
        ("role", ["roles/editor.json"]),
        ("rule", []),
    ],
)
def test_of_kind(kind: str, files: list[str]) -> None:
    assert [doc.file for doc in read_pack(TINY).of_kind(kind)] == files


@pytest.mark.parametrize(
    "make",
    [lambda tmp: tmp / "nowhere", lambda tmp: make_pack(tmp, {"x.txt": "a file"}) / "x.txt"],
    ids=["missing", "a file"],
)
def test_no_pack_folder(tmp_path: Path, make) -> None:  # noqa: ANN001
    root = make(tmp_path)
    source = read_pack(root)
    [problem] = source.problems
    assert (problem.file, problem.message, problem.expected) == (
        str(root), "there is no pack folder here", "a folder containing pack.json",
    )
    assert source.manifest is None
    assert source.documents == () and source.rule_files == ()


def test_missing_manifest_is_a_problem_but_the_other_files_are_still_read(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"entities/a.json": {"name": "a"}})
    source = read_pack(root)
    [problem] = source.problems
    assert (problem.file, problem.message, problem.expected) == (
        "pack.json", "the pack has no pack.json", "a manifest with name, version and label",
    )
    assert source.manifest is None
    assert [doc.file for doc in source.of_kind("entity")] == ["entities/a.json"]


def test_manifest_with_a_syntax_error_is_kept_with_its_problem(tmp_path: Path) -> None:
    """The manifest's own problems stay on its document; the pack-level list does not repeat them."""
    source = read_pack(make_pack(tmp_path, {"pack.json": '{"name": "p",}'}))
    assert source.problems == ()
    assert source.manifest is not None and source.manifest.data is None
    assert [p.message for p in source.manifest.problems] == [
        "invalid JSON: Expecting property name enclosed in double quotes",
    ]


@pytest.mark.parametrize(
    "stray",
    ["notes.json", "entities/old/lead.json", "rules/config.json", "entity/lead.json", "docs/entities/lead.json"],
)
def test_stray_json_file_is_reported_and_not_read(tmp_path: Path, stray: str) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(), "entities/a.json": {"name": "a"}, stray: "not even JSON"})
    source = read_pack(root)
    [problem] = source.problems
    assert (problem.file, problem.message, problem.expected, problem.severity) == (
        stray, "this file is not part of any pack file kind, so it is ignored", STRAY_EXPECTED, "warning",
    )
    assert [doc.file for _, doc in source.documents] == ["entities/a.json"]


def test_dot_folders_are_not_the_packs(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(), ".vscode/settings.json": {}, "entities/.old/a.json": "x"})
    assert read_pack(root).problems == ()


def test_json_link_to_outside_the_pack_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.json"
    outside.write_text('{"name": "a"}')
    root = make_pack(tmp_path / "p", {"pack.json": manifest()})
    (root / "entities").mkdir()
    (root / "entities" / "a.json").symlink_to(outside)
    (root / "entities" / "b.json").mkdir()
    source = read_pack(root)
    assert [(p.file, p.severity) for p in source.problems] == [("entities/a.json", "error"), ("entities/b.json", "error")]
    assert source.documents == ()


def test_files_that_are_not_json_are_ignored_silently(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(), "README.md": "# p", "entities/notes.txt": "x"})
    source = read_pack(root)
    assert source.problems == () and source.documents == ()


def test_document_problems_stay_on_their_document(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(), "views/v.json": '{"a": 1, "a": 2}'})
    source = read_pack(root)
    assert source.problems == ()
    [(kind, doc)] = source.documents
    assert kind == "view"
    assert [(p.file, p.path) for p in doc.problems] == [("views/v.json", "$")]


def test_default_rule_files_are_read_in_path_order(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {
        "pack.json": manifest(), "rules/b.rules": "rule b", "rules/a.rules": "rule a",
        "rules/sub/c.rules": "not matched by rules/*.rules", "rules/notes.txt": "not a rule file",
    })
    source = read_pack(root)
    assert source.rule_files == (RuleFile("rules/a.rules", "rule a"), RuleFile("rules/b.rules", "rule b"))
    assert source.problems == ()


def test_no_rule_files_under_the_default_pattern_is_fine(tmp_path: Path) -> None:
    assert read_pack(make_pack(tmp_path, {"pack.json": manifest()})).problems == ()


def test_rule_globs_declared_in_the_manifest(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {
        "pack.json": manifest(rules=["logic/**/*.rules", "extra.rules"]),
        "logic/top.rules": "t", "logic/deep/inner.rules": "i", "extra.rules": "e", "rules/default.rules": "d",
    })
    source = read_pack(root)
    assert [f.path for f in source.rule_files] == ["logic/deep/inner.rules", "logic/top.rules", "extra.rules"]
    assert source.problems == ()


def test_declared_rule_glob_that_matches_nothing_is_a_problem(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(rules=["rules/*.rules", "more/*.rules"]), "rules/a.rules": "a"})
    source = read_pack(root)
    [problem] = source.problems
    assert (problem.file, problem.path, problem.message) == ("pack.json", "$.rules[1]", "no rule file matches 'more/*.rules'")
    assert (problem.expected, problem.found) == ("at least one .rules file", "none")
    assert [f.path for f in source.rule_files] == ["rules/a.rules"]


def test_a_folder_matching_a_rule_glob_is_not_a_rule_file(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(rules=["*.rules"]), "dir.rules/x.txt": "x"})
    source = read_pack(root)
    assert source.rule_files == ()
    assert [p.message for p in source.problems] == ["no rule file matches '*.rules'"]


@pytest.mark.parametrize("rules", ["rules/*.rules", [1], [["rules/*.rules"]], {"a": "rules/*.rules"}])
def test_malformed_rules_key_is_left_to_the_manifest_schema(tmp_path: Path, rules: object) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(rules=rules), "rules/a.rules": "a"})
    source = read_pack(root)
    assert source.rule_files == () and source.problems == ()


def test_rule_file_that_is_not_utf8(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(), "rules/a.rules": b"caf\xe9", "rules/b.rules": "ok"})
    source = read_pack(root)
    [problem] = source.problems
    assert (problem.file, problem.message) == ("rules/a.rules", "the file is not UTF-8 text (byte 3)")
    assert [f.path for f in source.rule_files] == ["rules/b.rules"]


@pytest.mark.parametrize("pattern", ["/etc/*.rules", ""])
def test_rule_glob_the_schema_rejects_does_not_crash_reading(tmp_path: Path, pattern: str) -> None:
    source = read_pack(make_pack(tmp_path, {"pack.json": manifest(rules=[pattern])}))
    assert source.rule_files == ()


def test_rule_glob_cannot_reach_outside_the_pack(tmp_path: Path) -> None:
    make_pack(tmp_path, {"secret.rules": "outside"})
    root = make_pack(tmp_path / "pack", {"pack.json": manifest(rules=["../*.rules"])})
    assert [f.path for f in read_pack(root).rule_files] == []


def test_rule_file_matched_by_two_globs_is_read_once(tmp_path: Path) -> None:
    root = make_pack(tmp_path, {"pack.json": manifest(rules=["rules/*.rules", "rules/a.rules"]), "rules/a.rules": "a"})
    assert [f.path for f in read_pack(root).rule_files] == ["rules/a.rules"]
