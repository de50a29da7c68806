"""Dashboards in packs: the JSON Schema, the cross-checks (each problem at its JSON path, filters with line:column),
the registries the schema names, and the bundled packs' dashboards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from tests.metadata.test_validation import copy_pack
from xrm.metadata.dashboard_store import dashboard_document_problems
from xrm.metadata.dashboards import BUCKETS, CHART_KINDS, MEASURES, Grouping, build_dashboard
from xrm.metadata.org import platform_catalog
from xrm.metadata.schemas import KINDS, shipped_schema
from xrm.metadata.validation import validate_pack
from xrm.runtime.aggregate_buckets import BUCKETS as SQL_BUCKETS
from xrm.runtime.aggregates import MEASURES as SQL_MEASURES
from xrm.ui.charts import CHARTS

TINY = FIXTURES_DIR / "packs" / "tiny"


def widget(**values: Any) -> dict[str, Any]:
    return {"name": "w", "title": "W", "entity": "person", "chart": "bar", "group_by": {"field": "stage"}, **values}


def problems(tmp_path: Path, *widgets: dict[str, Any], **board: Any) -> list[tuple[str, str | None, str]]:
    """The problems of a dashboard ``board`` with ``widgets`` added to a copy of the tiny pack."""
    root = copy_pack(tmp_path, TINY)
    document = {"name": "people", "label": "People", "widgets": list(widgets), **board}
    (root / "dashboards").mkdir()
    (root / "dashboards" / "people.json").write_text(json.dumps(document, indent=2))
    report = validate_pack(root, platform_catalog())
    return [(p.file, p.path, p.message) for p in report.problems if p.file.startswith("dashboards/")]


def test_a_valid_dashboard_builds_and_is_part_of_the_pack(tmp_path: Path) -> None:
    root = copy_pack(tmp_path, TINY)
    (root / "dashboards").mkdir()
    document = {"name": "people", "label": "People", "widgets": [
        widget(series={"field": "employer.tier", "labels": {"gold": "Gold!"}, "colors": {"gold": "#aa8800"}}),
        widget(name="n", chart="number", group_by=None, measure="avg", field="score", filter="active"),
        widget(name="t", chart="line", group_by={"field": "last_seen", "bucket": "week"}, width=2),
    ]}
    document["widgets"][1].pop("group_by")
    (root / "dashboards" / "people.json").write_text(json.dumps(document))
    report = validate_pack(root, platform_catalog())
    assert report.ok, [str(p) for p in report.problems]
    [board] = report.pack.dashboards
    assert [w.chart for w in board.widgets] == ["bar", "number", "line"]
    assert board.widgets[0].series == Grouping("employer.tier", None, {"gold": "Gold!"}, {"gold": "#aa8800"})
    assert (board.widgets[1].measure, board.widgets[1].field, board.widgets[2].width) == ("avg", "score", 2)


@pytest.mark.parametrize(("document", "path", "message"), [
    (widget(chart="pie"), "$.widgets[0].chart", '"pie" is not an allowed value'),
    (widget(measure="median"), "$.widgets[0].measure", '"median" is not an allowed value'),
    (widget(group_by={"field": "stage", "bucket": "fortnight"}), "$.widgets[0].group_by.bucket",
     '"fortnight" is not an allowed value'),
    (widget(colour="red"), "$.widgets[0].colour", "unknown property 'colour'"),
    (widget(group_by={"field": "Stage"}), "$.widgets[0].group_by.field", '"Stage" is not valid here'),
    (widget(width=3), "$.widgets[0].width", "3 is not an allowed value"),
    ({k: v for k, v in widget().items() if k != "entity"}, "$.widgets[0]", "missing property 'entity'"),
])
def test_schema_problems_name_the_json_path(tmp_path: Path, document: dict, path: str, message: str) -> None:
    assert ("dashboards/people.json", path, message) in problems(tmp_path, document)


def test_a_dashboard_needs_widgets(tmp_path: Path) -> None:
    assert problems(tmp_path) == [("dashboards/people.json", "$.widgets", "[] is not allowed here: expected at least 1 item(s)")]


@pytest.mark.parametrize(("document", "path", "message"), [
    (widget(entity="persn"), "$.widgets[0].entity", "widget 'w' is on unknown entity 'persn'"),
    (widget(group_by={"field": "stag"}), "$.widgets[0].group_by.field", "entity 'person' has no field 'stag'"),
    (widget(group_by={"field": "email.domain"}), "$.widgets[0].group_by.field",
     "'email' of 'person' is not a lookup, so 'domain' cannot follow it"),
    (widget(group_by={"field": "employer.size"}), "$.widgets[0].group_by.field", "entity 'company' has no field 'size'"),
    (widget(group_by={"field": "score"}), "$.widgets[0].group_by.field",
     "records cannot be grouped by 'score' (a decimal field)"),
    (widget(group_by={"field": "last_seen"}), "$.widgets[0].group_by.bucket",
     "'last_seen' is a datetime: say which period each group spans"),
    (widget(group_by={"field": "stage", "bucket": "month"}), "$.widgets[0].group_by.bucket",
     "only dates are bucketed; 'stage' is a picklist field"),
    (widget(measure="sum"), "$.widgets[0].field", "measure 'sum' needs the number field it reads"),
    (widget(measure="sum", field="email"), "$.widgets[0].field", "'email' is a email field and cannot be summed or averaged"),
    (widget(field="score"), "$.widgets[0].field", "count counts records and reads no field"),
    (widget(measure="avg", field="employer.revenue"), "$.widgets[0].field", "a measure reads a field of the widget's own entity"),
    (widget(chart="funnel", series={"field": "active"}), "$.widgets[0].series", "a funnel cannot show series"),
    (widget(chart="number"), "$.widgets[0].group_by", "a number shows one value and takes no grouping"),
    ({k: v for k, v in widget().items() if k != "group_by"}, "$.widgets[0].group_by", "a bar chart needs a grouping"),
    (widget(share=True), "$.widgets[0].share", "shares are shown by a bar chart with series"),
])
def test_cross_check_problems_name_the_json_path(tmp_path: Path, document: dict, path: str, message: str) -> None:
    assert ("dashboards/people.json", path, message) in problems(tmp_path, document)


def test_filters_are_checked_with_line_and_column(tmp_path: Path) -> None:
    root = copy_pack(tmp_path, TINY)
    (root / "dashboards").mkdir()
    document = {"name": "people", "label": "People", "widgets": [widget(filter="stage = 'lead' and scor > 2")]}
    (root / "dashboards" / "people.json").write_text(json.dumps(document))
    [problem] = [p for p in validate_pack(root, platform_catalog()).problems if p.file.startswith("dashboards/")]
    assert (problem.path, problem.line, problem.column) == ("$.widgets[0].filter", 1, 20)
    assert problem.message == "unknown field 'scor' on person" and problem.hint == "did you mean 'score'?"
    assert str(problem).startswith("dashboards/people.json $.widgets[0].filter at 1:20: error:")


def test_widget_names_are_unique_in_a_dashboard(tmp_path: Path) -> None:
    found = problems(tmp_path, widget(), widget(title="Again"))
    assert found == [("dashboards/people.json", "$.widgets[1].name", "widget 'w' is declared twice")]


def test_dashboard_names_are_unique_across_installed_packs(tmp_path: Path) -> None:
    catalog = platform_catalog()
    for name in ("crm", "service", "partners"):
        catalog = catalog.with_pack(validate_pack(PACKS_DIR / name, catalog).raise_for_errors())
    root = copy_pack(tmp_path, TINY)
    (root / "dashboards").mkdir()
    (root / "dashboards" / "service_desk.json").write_text(json.dumps(
        {"name": "service_desk", "label": "Mine", "widgets": [widget()]}))
    messages = [p.message for p in validate_pack(root, catalog).problems]
    assert "dashboard 'service_desk' already exists in installed pack 'service'" in messages


def test_the_bundled_packs_ship_their_dashboards() -> None:
    catalog = platform_catalog()
    shipped = {}
    for name in ("crm", "service", "partners"):
        report = validate_pack(PACKS_DIR / name, catalog)
        assert report.ok, [str(p) for p in report.problems]
        catalog = catalog.with_pack(report.pack)
        shipped[name] = {d.name for d in report.pack.dashboards}
    assert shipped == {"crm": {"sales_pipeline", "lead_generation", "campaign_response"},
                       "service": {"service_desk"}, "partners": {"partner_channel"}}
    assert catalog.owner("dashboard", "service_desk") == "service"


def test_an_edited_document_is_checked_like_a_pack_file() -> None:
    catalog = platform_catalog()
    for name in ("crm", "service", "partners"):
        catalog = catalog.with_pack(validate_pack(PACKS_DIR / name, catalog).raise_for_errors())
    document = json.loads((PACKS_DIR / "service" / "dashboards" / "service_desk.json").read_text())
    assert dashboard_document_problems(document, "service_desk", catalog.entities) == []
    document["widgets"][0]["filter"] = "status = 'open' and priorty = 'high'"
    document["widgets"][1]["chart"] = "pie"
    found = dashboard_document_problems(document, "service_desk", catalog.entities)
    assert [p.path for p in found] == ["$.widgets[1].chart", "$.widgets[0].filter"], "all at once, the schema's first"
    document["widgets"][1]["chart"] = "bar"
    found = dashboard_document_problems(document, "service_desk", catalog.entities)
    assert [(p.path, p.line, p.column) for p in found] == [("$.widgets[0].filter", 1, 21), ("$.widgets[1].group_by",
                                                                                             None, None)]
    assert build_dashboard(json.loads((PACKS_DIR / "service" / "dashboards" / "service_desk.json").read_text()))


def test_the_schema_names_exactly_the_registered_measures_buckets_and_chart_kinds() -> None:
    schema = shipped_schema("dashboard")
    props = schema["$defs"]["widget"]["properties"]
    assert set(props["chart"]["enum"]) == set(CHART_KINDS) == set(CHARTS)
    assert set(props["measure"]["enum"]) == set(MEASURES) == set(SQL_MEASURES)
    assert set(schema["$defs"]["grouping"]["properties"]["bucket"]["enum"]) == set(BUCKETS) == set(SQL_BUCKETS)
    assert "dashboard" in KINDS, "xrm schema export writes it"


def test_the_readme_documents_every_measure_bucket_and_chart_kind() -> None:
    from tests.test_docs import section

    text = section("Dashboards")
    for name in (*MEASURES, *BUCKETS, *CHART_KINDS):
        assert f"`{name}`" in text, f"{name!r} is registered but README.md's Dashboards section does not name it"


def test_an_admin_version_wins_and_one_that_no_longer_builds_gives_way(sqlite_url: str) -> None:
    from sqlalchemy import insert

    from xrm.bootstrap import prepare_database
    from xrm.context import Actor, Context, utc_now
    from xrm.db import make_engine
    from xrm.metadata.dashboard_store import reset_dashboard, save_admin_dashboard
    from xrm.metadata.store import current_metadata_version, load_catalog
    from xrm.system_tables import metadata_documents

    engine = make_engine(sqlite_url)
    context = Context(Actor.system("tests"), "cli")
    prepare_database(engine, [PACKS_DIR / "crm"], context)
    document = json.loads((PACKS_DIR / "crm" / "dashboards" / "lead_generation.json").read_text())
    with engine.begin() as connection:
        before = current_metadata_version(connection)
        save_admin_dashboard(connection, {**document, "label": "Leads (ours)"}, context)
        assert current_metadata_version(connection) == before + 1
        assert load_catalog(connection).dashboards["lead_generation"].label == "Leads (ours)"
        reset_dashboard(connection, "lead_generation")
        assert load_catalog(connection).dashboards["lead_generation"].label == "Lead generation"
        connection.execute(insert(metadata_documents).values(
            kind="dashboard", name="lead_generation", pack="crm", layer="admin", definition={"name": "lead_generation"},
            updated_at=utc_now()))
        catalog = load_catalog(connection)
        assert catalog.dashboards["lead_generation"].label == "Lead generation"
        assert catalog.owner("dashboard", "lead_generation") == "crm"
    engine.dispose()
