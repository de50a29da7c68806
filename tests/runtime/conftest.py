"""Databases with the three bundled packs installed and a cast of users, copied from a template per test.

Installing the packs takes a second or more, so each test worker does it once
(an SQLite file, a PostgreSQL template database) and every test gets a fresh
copy.  ``Seed`` names the users, their ids and API tokens.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from tests.conftest import PACKS_DIR
from tests.postgres import database_name, scratch_database
from xrm.bootstrap import bundled_pack_dirs, prepare_database
from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine
from xrm.runtime.users import actor_for_user, add_team, add_user, create_token
from xrm.system_tables import org_tables

#: user name → (roles, is_admin)
CAST: dict[str, tuple[tuple[str, ...], bool]] = {
    "admin": ((), True),
    "manager": (("sales_manager",), False),
    "rep1": (("sales_rep",), False),
    "rep2": (("sales_rep",), False),
    "rep3": (("sales_rep",), False),
    "marketing": (("marketing_user",), False),
    "agent": (("support_agent",), False),
    "nobody": ((), False),
}
#: rep1 and rep3 share a team; rep2 works alone.
TEAMS = {"west": ("rep1", "rep3")}
#: The agent works the service pack's support queue, where the pack's rules put new cases.
QUEUES = {"support": ("agent",)}
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Seed:
    user_ids: dict[str, int]
    tokens: dict[str, str]


def _populate(engine: Engine) -> Seed:
    prepare_database(engine, bundled_pack_dirs(PACKS_DIR), Context(Actor.system("tests"), "cli"))
    ids, tokens = {}, {}
    with engine.begin() as connection:
        for name, (roles, is_admin) in CAST.items():
            ids[name] = add_user(connection, name, now=utc_now(), display_name=name.title(), password=PASSWORD,
                                 roles=roles, is_admin=is_admin)
            tokens[name] = create_token(connection, ids[name], "tests", now=utc_now())
        for team, members in TEAMS.items():
            add_team(connection, team, members=[ids[m] for m in members])
        queues, queue_members = org_tables["queue"], org_tables["queue_member"]
        for queue, members in QUEUES.items():
            queue_id = connection.execute(select(queues.c.id).where(queues.c.name == queue)).scalar_one()
            connection.execute(insert(queue_members), [
                {"queue": queue_id, "user": ids[m], "version": 1, "created_at": utc_now(), "updated_at": utc_now()}
                for m in members])
    return Seed(ids, tokens)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seed]:
    path = tmp_path_factory.mktemp("template") / "xrm.db"
    engine = make_engine(f"sqlite:///{path}")
    seed = _populate(engine)
    engine.dispose()  # closing the last connection folds the WAL into the file, so copying it is enough
    return path, seed


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[tuple[str, Seed]]:
    with scratch_database(postgres_server) as url:
        engine = make_engine(url)
        seed = _populate(engine)
        engine.dispose()
        yield database_name(url), seed


@dataclass(frozen=True)
class Installed:
    """A database with the packs and the cast, its engine, and the seed."""

    url: str
    engine: Engine
    seed: Seed

    def actor(self, name: str) -> Actor:
        with self.engine.connect() as connection:
            actor = actor_for_user(connection, self.seed.user_ids[name])
        assert actor is not None
        return actor

    def context(self, name: str, source: str = "api") -> Context:
        return Context(self.actor(name), source)  # type: ignore[arg-type]


@contextmanager
def template_copy(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[Installed]:
    """A fresh copy of the session's template database on ``backend`` (an SQLite file in ``folder``)."""
    if backend == "sqlite":
        template, seed = request.getfixturevalue("sqlite_template")
        shutil.copy(template, folder / "xrm.db")
        url = f"sqlite:///{folder / 'xrm.db'}"
        engine = make_engine(url)
        try:
            yield Installed(url, engine, seed)
        finally:
            engine.dispose()
        return
    name, seed = request.getfixturevalue("postgres_template")
    with scratch_database(request.getfixturevalue("postgres_server"), template=name) as url:
        engine = make_engine(url)
        try:
            yield Installed(url, engine, seed)
        finally:
            engine.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def installed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installed]:
    """A fresh copy of the template database for one test, on SQLite and on PostgreSQL."""
    with template_copy(request, request.param, tmp_path) as copy:
        yield copy


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """One copy of the template for every test of a module (per backend): tests keep to records they make."""
    with template_copy(request, request.param, tmp_path_factory.mktemp("shared")) as copy:
        yield copy


@pytest.fixture(scope="module")
def shared_api(shared: Installed) -> Iterator[Api]:
    """The API over ``shared``, as admin (``.as_("rep1")`` for another user of the cast)."""
    from xrm.ui.app import create_app

    with TestClient(create_app(shared.engine)) as test_client:
        yield Api(test_client, shared.seed, "admin")


class Api:
    """A test client that speaks as one of the cast: ``api.as_("rep1").get("/api/lead")``."""

    def __init__(self, client: TestClient, seed: Seed, user: str | None = None) -> None:
        self.client, self.seed, self.user = client, seed, user

    def as_(self, user: str | None) -> Api:
        return Api(self.client, self.seed, user)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        result = dict(headers or {})
        if self.user is not None:
            result.setdefault("Authorization", f"Bearer {self.seed.tokens[self.user]}")
        return result

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs):  # noqa: ANN003, ANN201
        return self.client.request(method, path, headers=self._headers(headers), **kwargs)

    def get(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(installed: Installed) -> Iterator[Api]:
    from xrm.ui.app import create_app

    with TestClient(create_app(installed.engine)) as client:
        yield Api(client, installed.seed, "admin")
