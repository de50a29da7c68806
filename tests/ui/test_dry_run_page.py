"""The rule designers' dry-run page, JavaScript off: administrators only, nothing written, errors with a place."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site, csrf_of
from xrm.ui.app import create_app
from xrm.ui.dry_run_pages import parse_values


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("dry_run")) as installed:
        yield Site(installed, create_app(installed.engine), {})


def _run(client: TestClient, **inputs: str):  # noqa: ANN202
    page = client.get("/rules/dry-run")
    assert page.status_code == 200, page.text
    return client.post("/rules/dry-run", data={"csrf_token": csrf_of(page.text), "event": "created", **inputs})


def _count(site: Site, entity: str) -> int:
    with site.installed.engine.connect() as connection:
        table = site.app.state.catalog.model_for(connection).table(entity)
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_only_administrators_may_dry_run(site: Site) -> None:
    manager = site.browser("manager")
    assert manager.get("/rules/dry-run").status_code == 403
    token = csrf_of(manager.get("/").text)
    assert manager.post("/rules/dry-run", data={"csrf_token": token, "entity": "lead"}).status_code == 403
    assert 'href="/rules/dry-run"' not in manager.get("/").text
    assert 'href="/rules/dry-run"' in site.browser("admin").get("/").text


def test_the_form_labels_every_input(site: Site) -> None:
    page = site.browser("admin").get("/rules/dry-run").text
    for name in ("entity", "event", "transition", "at", "wait_until", "values", "changes", "rules"):
        assert f'<label for="dr-{name}">' in page and f'id="dr-{name}" name="{name}"' in page


def test_a_created_event_lists_the_rules_that_fired_and_writes_nothing(site: Site) -> None:
    before = _count(site, "lead")
    response = _run(site.browser("admin"), entity="lead",
                    values="last_name = Hahn\ncompany = Hahn AG\nemail = h@hahn.example\nsource = 'webinar'\nrating = hot",
                    at="2026-01-05T09:00")
    assert response.status_code == 200, response.text
    page = response.text
    assert '<li class="decision fired">' in page
    assert "Hot leads to senior reps" in page
    assert "The record after" in page and "Hahn AG" in page
    assert _count(site, "lead") == before, "a dry run writes nothing"


def test_values_that_do_not_parse_are_shown_next_to_their_box(site: Site) -> None:
    page = _run(site.browser("admin"), entity="lead", values="last_name Hahn\nnope = 1").text
    assert 'id="values-error"' in page and "line 1: expected field = value" in page
    assert "Lead has no field \u2018nope\u2019" in page


def test_rule_text_with_a_syntax_error_shows_line_and_column(site: Site) -> None:
    rules = 'rule "Broken"\n  when lead created\n  then set rating = = \'hot\'\n'
    response = _run(site.browser("admin"), entity="lead", values="last_name = Hahn\ncompany = Hahn AG", rules=rules)
    assert response.status_code == 422
    assert re.search(r'<span class="place">3:\d+</span>', response.text)
    assert '<pre class="excerpt">' in response.text and "nothing was run" in response.text


def test_rule_text_replaces_the_installed_rules(site: Site) -> None:
    rules = 'rule "Everyone is hot"\n  when lead created\n  then set rating = \'hot\'\n'
    page = _run(site.browser("admin"), entity="lead", values="last_name = Hahn\ncompany = Hahn AG", rules=rules).text
    assert "Everyone is hot" in page and "Hot leads to senior reps" not in page


def test_wait_until_fires_a_time_rule(site: Site) -> None:
    client = site.browser("admin")
    waiting = _run(client, entity="case", values='{"subject": "Server down", "priority": "medium"}',
                   at="2026-01-05T08:00").text
    assert "First response SLA breach" in waiting and "due 2026-01-05 12:00 UTC" in waiting
    fired = _run(client, entity="case", values='{"subject": "Server down", "priority": "medium"}',
                 at="2026-01-05T08:00", wait_until="2026-01-05T13:00").text
    assert re.search(r'<li class="decision fired">\s*<p><span class="tag">fired</span> <strong>First response SLA breach',
                     fired)


def test_a_refused_change_shows_the_error(site: Site) -> None:
    page = _run(site.browser("admin"), entity="lead", values="company = Nameless").text
    assert 'class="form-error" role="alert"' in page and "last_name" in page


@pytest.mark.parametrize(("text", "values", "errors"), [
    ("", {}, []),
    ("a = 1\n\n# a comment\nb =\nc = 'x = y'", {"a": "1", "b": None, "c": "x = y"}, []),
    ('{"a": 1}', {"a": 1}, []),
    ('{"a": }', {}, ["line 1:7: Expecting value"]),
    ("[1]", {}, ["line 1: expected field = value, found \u201c[1]\u201d"]),
])
def test_parse_values(text: str, values: dict, errors: list[str]) -> None:
    assert parse_values(text, None) == (values, errors)
