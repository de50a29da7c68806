"""Signing in to the browser session: CSRF-protected form, argon2 check, safe redirects, sign out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.conftest import PACKS_DIR
from xrm.bootstrap import bundled_pack_dirs, prepare_database
from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine
from xrm.runtime.users import add_user
from xrm.ui.app import create_app

PASSWORD = "open sesame"


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    engine = make_engine(sqlite_url)
    prepare_database(engine, bundled_pack_dirs(PACKS_DIR), Context(Actor.system("tests"), "cli"))
    with engine.begin() as connection:
        add_user(connection, "alice", now=utc_now(), password=PASSWORD, roles=["sales_rep"])
    with TestClient(create_app(engine), follow_redirects=False) as test_client:
        yield test_client
    engine.dispose()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, password: str = PASSWORD, next_url: str = "/", csrf: str | None = None):  # noqa: ANN201
    token = csrf if csrf is not None else csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": "alice", "password": password, "csrf_token": token, "next": next_url})


def test_login_form_is_labelled_and_carries_csrf(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<label for="username">' in page.text and '<label for="password">' in page.text
    assert csrf_of(page.text)


def test_right_password_signs_in_and_the_session_reaches_the_api(client: TestClient) -> None:
    response = sign_in(client, next_url="/entities/lead")
    assert response.status_code == 303 and response.headers["location"] == "/entities/lead"
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json()["username"] == "alice" and me.json()["roles"] == ["sales_rep"]


def test_wrong_password_says_so_without_telling_which_part(client: TestClient) -> None:
    response = sign_in(client, password="nope")
    assert response.status_code == 401
    assert "The user name or password is not right." in response.text
    assert client.get("/api/me").status_code == 401


def test_missing_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = sign_in(client, csrf="forged")
    assert response.status_code == 400 and "The form expired" in response.text
    assert client.get("/api/me").status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_next_never_leaves_the_site(client: TestClient, target: str) -> None:
    response = sign_in(client, next_url=target)
    assert response.headers["location"] == "/"


def test_api_changes_with_the_cookie_need_the_csrf_header(client: TestClient) -> None:
    sign_in(client)
    lead = {"last_name": "Doe", "company": "ACME", "email": "doe@example.com"}
    refused = client.post("/api/lead", json=lead)
    assert refused.status_code == 403 and "x-csrf-token" in refused.json()["detail"]
    token = csrf_of(client.get("/login").text)
    created = client.post("/api/lead", json=lead, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client)
    token = csrf_of(client.get("/login").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/api/me").status_code == 401
