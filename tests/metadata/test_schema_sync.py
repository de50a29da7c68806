"""Installing packs creates real tables that match the metadata — checked by reflecting the database."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Engine,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    inspect,
    select,
)

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from xrm.context import Actor, Context
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.installer import install_pack, installed_catalog
from xrm.metadata.model import Entity
from xrm.metadata.org_tables import table_of
from xrm.metadata.schema_sync import creation_order
from xrm.metadata.tables import entity_tables
from xrm.metadata.validation import validate_pack
from xrm.migrate import upgrade
from xrm.system_tables import schema_history

CONTEXT = Context(actor=Actor.system("tester"), source="cli")

#: The generic SQL type a reflected column must have, per type class we declare.
GENERIC = [
    (JSON, (JSON, Text)),  # SQLite reflects JSON as JSON; kept for symmetry
    (Boolean, (Boolean, Integer)),  # PostgreSQL BOOLEAN; SQLite reflects BOOLEAN
    (Numeric, (Numeric,)),
    (BigInteger, (BigInteger, Integer)),
    (Integer, (Integer,)),
    (DateTime, (DateTime,)),
    (Date, (Date,)),
    (String, (String,)),
    (Text, (Text, String)),
]


def expected_generic(entity: Entity, column_name: str):  # noqa: ANN201
    field = entity.field(column_name)
    declared = get_field_type(field.type).column_type(field)
    declared = getattr(declared, "impl", declared)
    for kind, accepted in GENERIC:
        if isinstance(declared, kind):
            return declared, accepted
    raise AssertionError(f"no expectation for {declared!r}")


def install_bundled(engine: Engine) -> None:
    upgrade(engine)
    for name in ("crm", "service", "partners"):
        install_pack(engine, PACKS_DIR / name, CONTEXT)


def test_bundled_packs_create_tables_matching_metadata(engine: Engine) -> None:
    install_bundled(engine)
    catalog = installed_catalog(engine)
    assert set(catalog.packs) == {"platform", "crm", "service", "partners"}
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    for entity in catalog.entities.values():
        if entity.pack == "platform":  # the platform's own tables come from its migrations (test_migrate)
            continue
        assert entity.table_name in tables
        columns = {c["name"]: c for c in inspector.get_columns(entity.table_name)}
        assert list(columns)[:8] == ["id", "version", "created_at", "created_by", "updated_at", "updated_by", "owner_id",
                                     "owner_queue_id"]
        assert set(columns) == {*list(columns)[:8], *entity.field_names}
        for field in entity.fields:
            reflected = columns[field.name]
            declared, accepted = expected_generic(entity, field.name)
            assert isinstance(reflected["type"], accepted), (entity.name, field.name, reflected["type"])
            if isinstance(declared, String) and not isinstance(declared, Text) and declared.length:
                assert reflected["type"].length == declared.length, (entity.name, field.name)
            if isinstance(declared, Numeric):
                assert (reflected["type"].precision, reflected["type"].scale) == (declared.precision, declared.scale)
            computed = get_field_type(field.type).computed
            assert reflected["nullable"] is (not field.required or computed), (entity.name, field.name)
        _assert_foreign_keys(inspector, entity)
        _assert_indexes(inspector, entity)


def _assert_foreign_keys(inspector, entity: Entity) -> None:  # noqa: ANN001
    reflected = {
        fk["constrained_columns"][0]: (fk["referred_table"], (fk.get("options") or {}).get("ondelete"))
        for fk in inspector.get_foreign_keys(entity.table_name)
    }
    expected = {"created_by": ("xrm_users", "SET NULL"), "updated_by": ("xrm_users", "SET NULL"),
                "owner_id": ("xrm_users", "SET NULL"), "owner_queue_id": ("xrm_queues", "SET NULL")}
    for field in entity.fields:
        target = get_field_type(field.type).foreign_key_target(field)
        if target:
            expected[field.name] = (table_of(target[0]), target[1])  # lookups to the platform's entities: its tables
    assert reflected == expected, entity.name


def _assert_indexes(inspector, entity: Entity) -> None:  # noqa: ANN001
    table = entity_tables([entity])[entity.name]
    reflected_indexes = {i["name"]: tuple(i["column_names"]) for i in inspector.get_indexes(entity.table_name)
                         if not i.get("unique")}
    expected_indexes = {i.name: tuple(c.name for c in i.columns) for i in table.indexes}
    assert reflected_indexes == expected_indexes, entity.name
    reflected_unique = {(u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(entity.table_name)}
    expected_unique = {(u.name, tuple(c.name for c in u.columns)) for u in table.constraints
                       if isinstance(u, UniqueConstraint)}
    assert reflected_unique == expected_unique, entity.name


def test_tiny_pack_types_indexes_and_constraints(engine: Engine) -> None:
    upgrade(engine)
    install_pack(engine, FIXTURES_DIR / "packs" / "tiny", CONTEXT)
    inspector = inspect(engine)
    person = {c["name"]: c for c in inspector.get_columns("person")}
    assert isinstance(person["score"]["type"], Numeric) and person["score"]["type"].scale == 3
    assert isinstance(person["active"]["type"], (Boolean, Integer))
    assert isinstance(person["follow_up_in"]["type"], (BigInteger, Integer))
    assert person["full_name"]["nullable"] is False
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("company")}
    assert uniques == {("name",), ("code",), ("name", "founded")}
    fks = {fk["constrained_columns"][0]: fk for fk in inspector.get_foreign_keys("person")}
    assert fks["employer"]["referred_table"] == "company"
    assert fks["employer"]["options"]["ondelete"] == "CASCADE"
    assert fks["manager"]["referred_table"] == "xrm_users"
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("person")}
    assert indexes["ix_person_full_name_email"] == ["full_name", "email"]
    assert indexes["ix_person_employer"] == ["employer"]


def test_schema_history_records_every_operation(engine: Engine) -> None:
    upgrade(engine)
    result = install_pack(engine, FIXTURES_DIR / "packs" / "tiny", CONTEXT)
    with engine.connect() as connection:
        rows = connection.execute(select(schema_history).order_by(schema_history.c.id)).all()
    assert len(rows) == len(result.operations) > 0
    assert {(r.pack, r.pack_version, r.applied_by) for r in rows} == {("tiny", "1.0", "tester")}
    assert [r.operation for r in rows if r.operation == "create_table"] == ["create_table", "create_table"]
    assert rows[0].target == "company"  # created before person, which references it
    assert rows[0].detail["columns"][0]["name"] == "id"


def test_creation_order_puts_lookup_targets_first() -> None:
    crm = validate_pack(PACKS_DIR / "crm").raise_for_errors()
    order = [e.name for e in creation_order(crm.entities)]
    for entity in crm.entities:
        for field in entity.fields:
            if field.type == "lookup" and field.target != entity.name and field.target in order:
                # a cycle may invert one pair; the bundled packs have none
                assert order.index(field.target) < order.index(entity.name), (entity.name, field.target)


@pytest.mark.postgres
def test_cyclic_lookups_get_foreign_keys_after_the_tables(postgres_url: str, tmp_path) -> None:  # noqa: ANN001
    from tests.metadata.test_validation import copy_pack, edit_json
    from xrm.db import make_engine

    tiny = copy_pack(tmp_path, FIXTURES_DIR / "packs" / "tiny")
    edit_json(tiny / "entities" / "company.json",
              lambda d: d["fields"].append({"name": "ceo", "type": "lookup", "target": "person"}))
    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        result = install_pack(engine, tiny, CONTEXT)
        assert [op.operation for op in result.operations].count("create_foreign_key") == 1
        fks = {fk["constrained_columns"][0]: fk["referred_table"] for fk in inspect(engine).get_foreign_keys("company")}
        assert fks["ceo"] == "person"
    finally:
        engine.dispose()
