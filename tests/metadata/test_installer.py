"""Installing is all or nothing, and the runtime reads installed metadata from the database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, inspect, select

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from xrm.context import Actor, Context
from xrm.metadata import store
from xrm.metadata.installer import NotMigrated, PackAlreadyInstalled, install_pack, installed_catalog
from xrm.metadata.problems import PackInvalid
from xrm.metadata.validation import validate_pack
from xrm.migrate import upgrade
from xrm.system_tables import metadata_documents, packs, schema_history

CONTEXT = Context(actor=Actor.system("tester"), source="cli")
TINY = FIXTURES_DIR / "packs" / "tiny"


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def row_count(engine: Engine, table) -> int:  # noqa: ANN001
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_install_refuses_an_unmigrated_database(engine: Engine) -> None:
    with pytest.raises(NotMigrated, match="run `xrm migrate` first"):
        install_pack(engine, TINY, CONTEXT)


def test_broken_pack_installs_nothing(engine: Engine) -> None:
    upgrade(engine)
    before = table_names(engine)
    with pytest.raises(PackInvalid) as raised:
        install_pack(engine, FIXTURES_DIR / "packs" / "broken", CONTEXT)
    assert len(raised.value.problems) > 10
    assert table_names(engine) == before
    assert row_count(engine, packs) == 0 and row_count(engine, metadata_documents) == 0


def test_failure_after_tables_were_created_rolls_everything_back(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables exist inside the transaction when the failure strikes; none may survive it."""
    upgrade(engine)
    before = table_names(engine)
    seen_inside: list[set[str]] = []

    def fail_after_ddl(connection, pack, source, context) -> None:  # noqa: ANN001
        seen_inside.append(set(inspect(connection).get_table_names()))
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "save_pack", fail_after_ddl)
    with pytest.raises(RuntimeError, match="disk full"):
        install_pack(engine, TINY, CONTEXT)
    assert {"company", "person"} <= seen_inside[0]
    assert table_names(engine) == before
    assert row_count(engine, packs) == 0 and row_count(engine, schema_history) == 0


def test_installing_twice_is_refused(engine: Engine) -> None:
    upgrade(engine)
    install_pack(engine, TINY, CONTEXT)
    with pytest.raises(PackAlreadyInstalled, match="already installed"):
        install_pack(engine, TINY, CONTEXT)


def test_catalog_read_back_from_database_equals_the_pack(engine: Engine) -> None:
    upgrade(engine)
    install_pack(engine, PACKS_DIR / "crm", CONTEXT)
    pack = validate_pack(PACKS_DIR / "crm").raise_for_errors()
    catalog = installed_catalog(engine)
    assert catalog.packs["crm"].version == pack.version
    assert {e.name: e for e in pack.entities} == {n: e for n, e in catalog.entities.items() if e.pack != "platform"}
    assert {v.name: v for v in pack.views} == dict(catalog.views)
    assert {w.name: w for w in pack.workflows} == dict(catalog.workflows)
    assert {r.name: r for r in pack.roles} == dict(catalog.roles)


def test_metadata_version_moves_with_each_install(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        assert store.current_metadata_version(connection) == 0
    install_pack(engine, TINY, CONTEXT)
    with engine.connect() as connection:
        assert store.current_metadata_version(connection) == 1


def test_dependent_pack_needs_its_dependency_installed(engine: Engine) -> None:
    upgrade(engine)
    with pytest.raises(PackInvalid) as raised:
        install_pack(engine, PACKS_DIR / "service", CONTEXT)
    assert [(p.message, p.code) for p in raised.value.problems] == [
        ("this pack needs pack 'crm', which is not installed", "missing_dependency")
    ]
    install_pack(engine, PACKS_DIR / "crm", CONTEXT)
    install_pack(engine, PACKS_DIR / "service", CONTEXT)
    assert {"case", "sla_policy"} <= table_names(engine)  # queues and calendars are the platform's
