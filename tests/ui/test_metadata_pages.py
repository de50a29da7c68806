"""The start page and the pages describing how an entity is set up (signed in as an administrator)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from tests.ui.test_login import csrf_of
from xrm.bootstrap import bundled_pack_dirs, prepare_database
from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine
from xrm.metadata.installer import install_pack
from xrm.runtime.users import add_user
from xrm.ui.app import create_app

CONTEXT = Context(actor=Actor.system("tester"), source="cli")
PASSWORD = "open sesame"


def signed_in(engine) -> TestClient:  # noqa: ANN001
    """A client signed in as an administrator (added on first use)."""
    with engine.begin() as connection:
        add_user(connection, "boss", now=utc_now(), password=PASSWORD, is_admin=True)
    client = TestClient(create_app(engine))
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    return client


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    engine = make_engine(sqlite_url)
    prepare_database(engine, bundled_pack_dirs(PACKS_DIR), CONTEXT)
    with signed_in(engine) as test_client:
        test_client.engine = engine
        yield test_client
    engine.dispose()


def test_home_lists_packs_and_entities(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for label in ("CRM", "Customer Service", "Opportunities", "Cases", "Deal Registrations"):
        assert label in page.text
    assert 'href="/app/opportunity"' in page.text


def test_entity_page_shows_fields_views_and_workflows(client: TestClient) -> None:
    page = client.get("/entities/opportunity")
    assert page.status_code == 200
    assert "Stage" in page.text and "Closed Won" in page.text
    assert "List views" in page.text and "Workflows" in page.text


def test_unknown_entity_is_404(client: TestClient) -> None:
    assert client.get("/entities/nope").status_code == 404


def test_new_pack_is_seen_without_restart(client: TestClient) -> None:
    assert "Tiny" not in client.get("/").text
    install_pack(client.engine, FIXTURES_DIR / "packs" / "tiny", CONTEXT)
    assert "Companies" in client.get("/").text


def test_prepare_database_is_idempotent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    assert len(prepare_database(engine, bundled_pack_dirs(PACKS_DIR), CONTEXT)) == 3
    assert prepare_database(engine, bundled_pack_dirs(PACKS_DIR), CONTEXT) == []
    engine.dispose()


def test_text_from_metadata_is_escaped(sqlite_url: str, tmp_path) -> None:  # noqa: ANN001
    from tests.metadata.test_validation import copy_pack, edit_json

    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "pack.json", lambda d: d.update(description="<script>alert(1)</script>"))
    engine = make_engine(sqlite_url)
    prepare_database(engine, [tiny], CONTEXT)
    with signed_in(engine) as test_client:
        text = test_client.get("/").text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text
    engine.dispose()


def test_lookup_targets_link_to_their_entity(client: TestClient) -> None:
    page = client.get("/entities/contact").text
    assert '<a href="http://testserver/entities/account">Account</a>' in page
