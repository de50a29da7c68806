"""Pack validation: golden output for a broken pack, and targeted checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from xrm.metadata.catalog import Catalog
from xrm.metadata.org import platform_catalog
from xrm.metadata.validation import validate_pack

BROKEN = FIXTURES_DIR / "packs" / "broken"


def problems_of(root: Path, catalog: Catalog | None = None) -> list[tuple[str, str | None, str]]:
    return [(p.file, p.path, p.message) for p in validate_pack(root, catalog).problems]


def test_broken_pack_reports_every_problem_exactly_as_the_golden_file_says() -> None:
    report = validate_pack(BROKEN)
    expected = (FIXTURES_DIR / "packs" / "broken.expected.txt").read_text(encoding="utf-8").splitlines()
    assert [str(p) for p in report.problems] == expected
    assert report.pack is None and not report.ok


@pytest.mark.parametrize(
    ("file", "path", "message", "hint"),
    [
        ("entities/ticket.json", "$.fields[1].type", "unknown field type 'picklst'", "did you mean 'picklist'?"),
        ("entities/ticket.json", "$.fields[7].lable", "unknown property 'lable'", "did you mean 'label'?"),
        ("entities/ticket.json", "$.fields[3].target", "lookup 'customer' points to unknown entity 'custmer'",
         "did you mean 'customer'?"),
        ("entities/ticket.json", "$.display_field", "entity 'ticket' has no field 'subjet'", "did you mean 'subject'?"),
        ("pack.json", "$.depends_on.billing", "this pack needs pack 'billing', which is not installed",
         "install billing first (xrm pack install); references to its entities are checked then"),
        ("workflows/ticket_flow.json", "$.transitions[0].to", "unknown state 'high'", None),
    ],
)
def test_problem_names_file_path_message_and_hint(file: str, path: str, message: str, hint: str | None) -> None:
    matching = [p for p in validate_pack(BROKEN).problems if (p.file, p.path) == (file, path)]
    assert [p.message for p in matching] == [message]
    assert matching[0].hint == hint


def test_syntax_error_gives_line_and_column_and_a_hint() -> None:
    [problem] = validate_pack(FIXTURES_DIR / "packs" / "syntax_error").problems
    assert (problem.file, problem.line, problem.column) == ("entities/thing.json", 6, 3)
    assert problem.message == "invalid JSON: Expecting value"
    assert problem.hint == "JSON does not allow a comma after the last item"
    assert str(problem).startswith("entities/thing.json:6:3: error: invalid JSON")


def test_valid_pack_builds_dataclasses() -> None:
    report = validate_pack(FIXTURES_DIR / "packs" / "tiny")
    assert report.ok, [str(p) for p in report.problems]
    pack = report.pack
    assert (pack.name, pack.version) == ("tiny", "1.0")
    person = next(e for e in pack.entities if e.name == "person")
    assert person.display_field == "full_name"
    assert person.field("employer").target == "company"
    assert [o.value for o in person.field("stage").options] == ["lead", "customer", "former"]
    assert pack.workflows[0].transitions[0].roles == ("editor",)


def copy_pack(tmp_path: Path, source: Path) -> Path:
    target = tmp_path / source.name
    for path in source.rglob("*"):
        if path.is_file():
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (target / path.relative_to(source)).write_bytes(path.read_bytes())
    return target


def edit_json(path: Path, change) -> None:  # noqa: ANN001
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_dependency_satisfied_by_installed_catalog(tmp_path: Path) -> None:
    crm = validate_pack(PACKS_DIR / "crm").raise_for_errors()
    assert validate_pack(PACKS_DIR / "service", platform_catalog().with_pack(crm)).ok
    assert not validate_pack(PACKS_DIR / "service").ok


def test_dependency_version_mismatch(tmp_path: Path) -> None:
    crm = validate_pack(PACKS_DIR / "crm").raise_for_errors()
    service = copy_pack(tmp_path, PACKS_DIR / "service")
    edit_json(service / "pack.json", lambda d: d.update(depends_on={"crm": ">=2.0"}))
    [problem] = validate_pack(service, platform_catalog().with_pack(crm)).problems
    assert problem.message == "this pack needs crm >=2.0, but crm 1.0.0 is installed"
    assert problem.path == "$.depends_on.crm"


def test_entity_name_clash_with_another_installed_pack(tmp_path: Path) -> None:
    crm = validate_pack(PACKS_DIR / "crm").raise_for_errors()
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "entities" / "company.json", lambda d: d.update(name="account"))
    problems = problems_of(tiny, platform_catalog().with_pack(crm))
    assert ("entities/company.json", "$.name", "entity 'account' already exists in installed pack 'crm'") in problems


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 64, f"'{'x' * 64}' is 64 characters long; names have at most 63"),
        ("1abc", "'1abc' is not a valid name: use lowercase letters, digits and '_', starting with a letter (e.g. 'close_date')"),
        ("in", "'in' is a keyword of the expression language and cannot be used as a name"),
        ("xrm_things", "'xrm_things' starts with 'xrm_', which is reserved for the platform"),
        ("sqlite_things", "'sqlite_things' starts with 'sqlite_', which the database reserves for itself"),
        ("pg_things", "'pg_things' starts with 'pg_', which the database reserves for itself"),
    ],
)
def test_invalid_entity_names(tmp_path: Path, name: str, message: str) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "entities" / "company.json", lambda d: d.update(name=name))
    assert ("entities/company.json", "$.name", message) in problems_of(tiny)


def test_problems_in_several_files_are_all_reported_at_once(tmp_path: Path) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "views" / "people.json", lambda d: d.update(columns=["full_nam"]))
    edit_json(tiny / "roles" / "editor.json", lambda d: d["permissions"]["person"].update(hidden_fields=["emial"]))
    edit_json(tiny / "entities" / "person.json", lambda d: d["fields"][4].update(default="perhaps"))
    found = problems_of(tiny)
    assert ("views/people.json", "$.columns[0]", "entity 'person' has no field 'full_nam'") in found
    assert ("roles/editor.json", "$.permissions.person.hidden_fields[0]", "entity 'person' has no field 'emial'") in found
    assert ("entities/person.json", "$.fields[4].default",
            "default value does not fit field 'active': expected yes or no (true/false), found 'perhaps'") in found


def test_missing_manifest(tmp_path: Path) -> None:
    (tmp_path / "entities").mkdir()
    [problem] = validate_pack(tmp_path).problems
    assert (problem.file, problem.message) == ("pack.json", "the pack has no pack.json")


def test_rule_files_declared_in_manifest_must_exist(tmp_path: Path) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "pack.json", lambda d: d.update(rules=["rules/*.rules"]))
    assert ("pack.json", "$.rules[0]", "no rule file matches 'rules/*.rules'") in problems_of(tiny)
    (tiny / "rules").mkdir()
    (tiny / "rules" / "assign.rules").write_text("-- no rules yet\n")
    report = validate_pack(tiny)
    assert report.ok and report.pack.rule_files[0].path == "rules/assign.rules"


def test_expression_problems_name_the_json_path_then_line_and_column() -> None:
    found = [p for p in validate_pack(BROKEN).problems if p.path == "$.validations[0].check"]
    assert [(p.file, p.line, p.column, p.message, p.hint) for p in found] == [
        ("entities/invoice.json", 1, 10, "cannot compare decimal with text", "write the decimal without quotes"),
        ("entities/invoice.json", 1, 20, "unknown field 'numbr' on invoice", "did you mean 'number'?"),
    ]
    assert found[1].excerpt.splitlines() == ["amount > 'many' or numbr is empty", " " * 19 + "^"]
    assert found[1].location == "entities/invoice.json $.validations[0].check at 1:20"


def test_expressions_of_an_entity_with_broken_fields_wait_for_the_fields(tmp_path: Path) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "entities" / "company.json", lambda d: (
        d["fields"][2].update(type="curency"),
        d.setdefault("validations", []).append({"name": "v", "check": "revenue > 0", "message": "m"}),
    ))
    found = [(p.path, p.message) for p in validate_pack(tiny).problems]
    assert found == [("$.fields[2].type", "unknown field type 'curency'")]


def test_every_expression_of_the_bundled_packs_checks() -> None:
    catalog = platform_catalog()
    for name in ("crm", "service", "partners"):
        report = validate_pack(PACKS_DIR / name, catalog)
        assert report.ok, [str(p) for p in report.problems]
        catalog = catalog.with_pack(report.pack)


def test_index_names_that_would_collide_are_reported(tmp_path: Path) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "entities" / "company.json",
              lambda d: d["fields"].append({"name": "name_x", "type": "integer", "indexed": True}))
    (tiny / "entities" / "company_name.json").write_text(json.dumps({
        "name": "company_name", "label": "Company name",
        "fields": [{"name": "x", "type": "integer", "indexed": True}],
    }))
    found = [p for p in validate_pack(tiny).problems if p.file == "entities/company_name.json"]
    assert [(p.path, p.message) for p in found] == [(
        "$.name",
        "the index on company_name(x) would be named 'ix_company_name_x', like the index on company(name_x)",
    )]


def test_formula_loops_are_reported(tmp_path: Path) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "entities" / "person.json", lambda d: d["fields"].extend([
        {"name": "a", "type": "formula", "returns": "integer", "expression": "b + 1"},
        {"name": "b", "type": "formula", "returns": "integer", "expression": "a + 1"},
        {"name": "c", "type": "formula", "returns": "integer", "expression": "c + 1"},
        {"name": "d", "type": "formula", "returns": "integer", "expression": "a + c"},
    ]))
    found = [(p.path, p.message) for p in validate_pack(tiny).problems]
    assert found == [
        ("$.fields[9].expression", "formula 'a' depends on itself: person.a → person.b → person.a"),
        ("$.fields[11].expression", "formula 'c' depends on itself: person.c → person.c"),
    ]


def test_invalid_optional_properties_are_left_out_so_the_rest_is_still_checked(tmp_path: Path) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "views" / "people.json", lambda d: d.update(columns=["full_nam"], sort=[{"field": "email", "direction": "up"}]))
    edit_json(tiny / "roles" / "editor.json", lambda d: d["permissions"]["person"].update(scope="everyone", hidden_fields=["emial"]))
    found = [(p.file, p.path) for p in validate_pack(tiny).problems]
    assert found == [
        ("roles/editor.json", "$.permissions.person.scope"),
        ("roles/editor.json", "$.permissions.person.hidden_fields[0]"),
        ("views/people.json", "$.sort[0].direction"),
        ("views/people.json", "$.columns[0]"),
    ]


def test_an_index_named_like_a_table_is_reported(tmp_path: Path) -> None:
    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    (tiny / "entities" / "ix_company_founded.json").write_text(json.dumps({
        "name": "ix_company_founded", "label": "Odd", "fields": [{"name": "x", "type": "integer"}],
    }))
    found = [(p.file, p.message) for p in validate_pack(tiny).problems]
    assert ("entities/company.json",
            "the index on company(founded) would be named 'ix_company_founded', like the table ix_company_founded") in found


def test_two_packs_may_ship_rule_files_of_the_same_name(sqlite_url: str, tmp_path: Path) -> None:
    from xrm.context import Actor, Context
    from xrm.db import make_engine
    from xrm.metadata.installer import install_pack
    from xrm.migrate import upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    for name in ("one", "two"):
        pack = tmp_path / name
        (pack / "rules").mkdir(parents=True)
        (pack / "pack.json").write_text(json.dumps({"name": name, "version": "1.0", "label": name}))
        (pack / "rules" / "main.rules").write_text("-- rules\n")
        install_pack(engine, pack, Context(actor=Actor.system("t"), source="cli"))
    engine.dispose()
