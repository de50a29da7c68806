"""The per-process catalog cache: one small query per call, a reload only when the metadata version moves."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event

from tests.conftest import FIXTURES_DIR
from xrm.context import Actor, Context
from xrm.db import make_engine
from xrm.metadata import store
from xrm.metadata.installer import install_pack
from xrm.migrate import upgrade
from xrm.runtime.catalog_cache import CatalogCache
from xrm.system_tables import metadata_documents, metadata_version, packs

CONTEXT = Context(actor=Actor.system("tester"), source="cli")
TINY = FIXTURES_DIR / "packs" / "tiny"
DOCUMENTS, PACKS, VERSION = (t.name for t in (metadata_documents, packs, metadata_version))


@pytest.fixture
def migrated(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


class Statements:
    """The SQL statements an engine runs (the driver-level BEGIN/COMMIT left out)."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement: str, parameters, context, executemany) -> None:  # noqa: ANN001
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"):
            self.seen.append(" ".join(statement.split()))

    def touching(self, table: str) -> list[str]:
        return [s for s in self.seen if re.search(rf"\bFROM {re.escape(table)}\b", s)]


def bump(engine: Engine) -> int:
    with engine.begin() as connection:
        return store.bump_metadata_version(connection)


def test_unchanged_metadata_costs_one_version_query_and_returns_the_same_catalog(migrated: Engine) -> None:
    install_pack(migrated, TINY, CONTEXT)
    cache = CatalogCache(migrated)
    first = cache.get()
    assert {n for n, e in first.entities.items() if e.pack != "platform"} == {"company", "person"}
    statements = Statements(migrated)
    for _ in range(3):
        assert cache.get() is first
    assert len(statements.seen) == 3
    assert statements.touching(VERSION) == statements.seen
    assert statements.touching(DOCUMENTS) == [] and statements.touching(PACKS) == []


def test_first_call_loads_the_catalog(migrated: Engine) -> None:
    install_pack(migrated, TINY, CONTEXT)
    statements = Statements(migrated)
    catalog = CatalogCache(migrated).get()
    assert list(catalog.packs) == ["platform", "tiny"]
    assert statements.touching(DOCUMENTS) and statements.touching(PACKS)


def test_empty_database_gives_an_empty_catalog_that_is_kept(migrated: Engine) -> None:
    """No version row yet reads as version 0, which is a real version: the second call does not reload."""
    cache = CatalogCache(migrated)
    first = cache.get()
    assert list(first.packs) == ["platform"] and all(e.pack == "platform" for e in first.entities.values())
    statements = Statements(migrated)
    assert cache.get() is first
    assert statements.touching(DOCUMENTS) == []


def test_installing_a_pack_moves_the_version_and_the_cache_reloads(migrated: Engine) -> None:
    cache = CatalogCache(migrated)
    before = cache.get()
    install_pack(migrated, TINY, CONTEXT)
    after = cache.get()
    assert after is not before
    assert list(after.packs) == ["platform", "tiny"] and list(before.packs) == ["platform"]
    assert cache.get() is after


def test_reload_happens_on_a_version_bump_alone(migrated: Engine) -> None:
    install_pack(migrated, TINY, CONTEXT)
    cache = CatalogCache(migrated)
    first = cache.get()
    bump(migrated)
    statements = Statements(migrated)
    second = cache.get()
    assert second is not first
    assert set(second.entities) == set(first.entities)
    assert statements.touching(DOCUMENTS)


def test_a_change_made_through_another_process_is_seen(migrated: Engine, sqlite_url: str) -> None:
    cache = CatalogCache(migrated)
    assert list(cache.get().packs) == ["platform"]
    other = make_engine(sqlite_url)  # another app process: its own engine and connections
    try:
        install_pack(other, TINY, CONTEXT)
    finally:
        other.dispose()
    assert list(cache.get().packs) == ["platform", "tiny"]


def test_documents_changed_without_a_version_bump_are_not_seen(migrated: Engine) -> None:
    """The version is the only signal: that is what makes the per-request check cheap."""
    cache = CatalogCache(migrated)
    first = cache.get()
    with migrated.begin() as connection:
        version = store.current_metadata_version(connection)
    install_pack(migrated, TINY, CONTEXT)
    with migrated.begin() as connection:  # put the version back as if nobody had bumped it
        connection.execute(metadata_version.update().values(version=version))
    assert cache.get() is first


def test_each_cache_keeps_its_own_catalog(migrated: Engine) -> None:
    one, two = CatalogCache(migrated), CatalogCache(migrated)
    first = one.get()
    bump(migrated)
    assert two.get() is not first
    assert one.get() is not first
