"""Entity metadata → SQLAlchemy tables: system columns, typed field columns, constraint names, indexes, keys."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    inspect,
)

from tests.conftest import FIXTURES_DIR
from xrm.metadata.fieldtypes.relation import USERS_TABLE
from xrm.metadata.model import Entity, Field, Index
from xrm.metadata.sqltypes import UTCDateTime
from xrm.metadata.tables import (
    constraint_name,
    entity_table,
    entity_tables,
    field_column,
    field_foreign_key,
    field_indexes,
    system_columns,
    table_items,
    unique_constraints,
    users_stub,
)
from xrm.metadata.validation import validate_pack

#: Every table is indexed on its owner and on the queue its records may wait in.
OWNER_INDEXES = {("ix_ticket_owner_id", ("owner_id",)), ("ix_ticket_owner_queue_id", ("owner_queue_id",))}
SYSTEM = ["id", "version", "created_at", "created_by", "updated_at", "updated_by", "owner_id", "owner_queue_id"]


def make_entity(*fields: Field, name: str = "ticket", **extra: object) -> Entity:
    return Entity(name, name.title(), name.title() + "s", "p", "id", tuple(fields), **extra)


def index_shapes(entity: Entity) -> set[tuple[str, tuple[str, ...]]]:
    return {(ix.name, tuple(ix.expressions)) for ix in field_indexes(entity)}


def unique_shapes(entity: Entity) -> set[tuple[str, tuple[str, ...]]]:
    """Unique constraints as (name, columns), attached to a table so that their columns resolve."""
    metadata = MetaData()
    users_stub(metadata)
    table = entity_table(entity, metadata)
    attached = {(uq.name, tuple(c.name for c in uq.columns)) for uq in table.constraints if isinstance(uq, UniqueConstraint)}
    assert {uq.name for uq in unique_constraints(entity)} == {name for name, _ in attached}
    return attached


# -- constraint names -------------------------------------------------------------

@pytest.mark.parametrize(
    ("prefix", "table", "columns", "name"),
    [
        ("ix", "lead", ["email"], "ix_lead_email"),
        ("uq", "lead", ["first_name", "last_name"], "uq_lead_first_name_last_name"),
        ("fk", "case", ["account"], "fk_case_account"),
        ("ix", "lead", [], "ix_lead"),
        ("ix", "t" * 58, ["c"], "ix_" + "t" * 58 + "_c"),  # exactly 63: kept as is
    ],
)
def test_constraint_name_joins_prefix_table_and_columns(prefix: str, table: str, columns: list, name: str) -> None:
    assert constraint_name(prefix, table, columns) == name
    assert len(name) <= 63


@pytest.mark.parametrize("extra", [1, 2, 30, 200])
def test_constraint_name_beyond_63_characters_is_cut_and_hashed(extra: int) -> None:
    table, columns = "t" * 58, ["c" * (1 + extra)]
    full = "_".join(["ix", table, *columns])
    assert len(full) == 63 + extra
    name = constraint_name("ix", table, columns)
    assert len(name) == 63
    assert name == full[:54] + "_" + hashlib.sha1(full.encode()).hexdigest()[:8]
    assert constraint_name("ix", table, columns) == name  # deterministic


def test_long_names_sharing_the_first_54_characters_still_differ() -> None:
    table = "a_table_name_that_is_long_enough_to_need_shortening"
    names = {constraint_name("uq", table, [column]) for column in ("first_column", "second_column", "first_column2")}
    assert len(names) == 3
    assert all(len(n) == 63 and n.startswith("uq_" + table) for n in names)


def test_columns_are_part_of_the_name_in_their_order() -> None:
    assert constraint_name("ix", "t", ["a", "b"]) != constraint_name("ix", "t", ["b", "a"])


# -- system columns ---------------------------------------------------------------

def test_system_columns() -> None:
    columns = system_columns("ticket")
    assert [c.name for c in columns] == SYSTEM
    by_name = {c.name: c for c in columns}
    assert by_name["id"].primary_key and by_name["id"].autoincrement is True
    assert [name for name, c in by_name.items() if not c.nullable] == ["id", "version", "created_at", "updated_at"]
    assert by_name["version"].server_default.arg.text == "1"
    assert isinstance(by_name["version"].type, Integer)
    assert isinstance(by_name["created_at"].type, UTCDateTime) and isinstance(by_name["updated_at"].type, UTCDateTime)


@pytest.mark.parametrize("column", ["created_by", "updated_by", "owner_id"])
def test_user_system_columns_reference_users_and_are_cleared_when_the_user_goes(column: str) -> None:
    [fk] = {c.name: c for c in system_columns("ticket")}[column].foreign_keys
    assert fk.target_fullname == f"{USERS_TABLE}.id"
    assert fk.ondelete == "SET NULL"
    assert fk.name == f"fk_ticket_{column}"


def test_system_columns_are_new_objects_each_time() -> None:
    """Columns belong to one table; two tables must never share them."""
    first, second = system_columns("a"), system_columns("b")
    assert all(x is not y for x, y in zip(first, second, strict=True))


# -- field columns ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("field", "type_class", "nullable"),
    [
        (Field("subject", "text", "S"), String, True),
        (Field("subject", "text", "S", required=True), String, False),
        (Field("notes", "long_text", "N"), Text, True),
        (Field("amount", "decimal", "A", required=True, precision=10, scale=3), Numeric, False),
        (Field("done", "boolean", "D"), Boolean, True),
        (Field("tags", "multi_picklist", "T", options=()), JSON, True),
        (Field("account", "lookup", "A", target="account", required=True), BigInteger, False),
        # computed fields are filled in by the platform after the insert starts: never NOT NULL
        (Field("total", "formula", "T", required=True, expression="1", returns="integer"), BigInteger, True),
    ],
)
def test_field_column_type_and_nullability(field: Field, type_class: type, nullable: bool) -> None:
    column = field_column(make_entity(field), field)
    assert column.name == field.name
    assert isinstance(column.type, type_class)
    assert column.nullable is nullable


def test_text_column_length_follows_max_length() -> None:
    field = Field("code", "text", "C", max_length=12)
    assert field_column(make_entity(field), field).type.length == 12


@pytest.mark.parametrize(
    ("field", "target", "ondelete"),
    [
        (Field("account", "lookup", "A", target="account"), "account.id", "SET NULL"),
        (Field("account", "lookup", "A", target="account", required=True), "account.id", "RESTRICT"),
        (Field("account", "lookup", "A", target="account", on_delete="cascade"), "account.id", "CASCADE"),
        (Field("agent", "user", "A"), f"{USERS_TABLE}.id", "SET NULL"),
        (Field("agent", "user", "A", required=True), f"{USERS_TABLE}.id", "RESTRICT"),
    ],
)
def test_reference_fields_get_a_named_foreign_key(field: Field, target: str, ondelete: str) -> None:
    fk = field_foreign_key(make_entity(field), field)
    assert isinstance(fk, ForeignKeyConstraint)
    assert fk.name == f"fk_ticket_{field.name}"
    assert (fk.ondelete, [e.target_fullname for e in fk.elements], fk.column_keys) == (ondelete, [target], [field.name])


@pytest.mark.parametrize("field", [Field("n", "integer", "N"), Field("s", "picklist", "S"), Field("t", "text", "T")])
def test_other_fields_have_no_foreign_key(field: Field) -> None:
    assert field_foreign_key(make_entity(field), field) is None


# -- indexes and unique constraints ----------------------------------------------------

def test_every_table_has_an_owner_index() -> None:
    assert index_shapes(make_entity(Field("n", "integer", "N"))) == OWNER_INDEXES


@pytest.mark.parametrize(
    ("field", "indexed"),
    [
        (Field("account", "lookup", "A", target="account"), True),
        (Field("agent", "user", "A"), True),
        (Field("status", "picklist", "S", indexed=True), True),
        (Field("status", "picklist", "S"), False),
        # a unique field is indexed by its unique constraint already
        (Field("account", "lookup", "A", target="account", unique=True), False),
        (Field("code", "text", "C", indexed=True, unique=True), False),
    ],
)
def test_one_index_per_reference_field_and_per_indexed_field(field: Field, indexed: bool) -> None:
    found = index_shapes(make_entity(field)) - OWNER_INDEXES
    assert found == ({(f"ix_ticket_{field.name}", (field.name,))} if indexed else set())


def test_declared_indexes_and_the_same_columns_are_indexed_once() -> None:
    entity = make_entity(
        Field("account", "lookup", "A", target="account"), Field("status", "text", "S", indexed=True),
        indexes=(Index("ix_ticket_account", ("account",)), Index("ix_ticket_status_account", ("status", "account")),
                 Index("uq_ticket_status", ("status",), unique=True), Index("ix_ticket_owner_id", ("owner_id",))),
    )
    assert sorted(index_shapes(entity)) == [
        ("ix_ticket_account", ("account",)), ("ix_ticket_owner_id", ("owner_id",)),
        ("ix_ticket_owner_queue_id", ("owner_queue_id",)),
        ("ix_ticket_status", ("status",)), ("ix_ticket_status_account", ("status", "account")),
    ]


def test_unique_constraints() -> None:
    entity = make_entity(
        Field("code", "text", "C", unique=True), Field("number", "autonumber", "N", format="T-{000}"),
        Field("a", "text", "A"), Field("b", "text", "B"),
        indexes=(Index("uq_ticket_a_b", ("a", "b"), unique=True), Index("ix_ticket_a", ("a",))),
        unique_together=(("b", "code"), ("a", "b")),
    )
    assert unique_shapes(entity) == {
        ("uq_ticket_code", ("code",)), ("uq_ticket_number", ("number",)), ("uq_ticket_a_b", ("a", "b")),
        ("uq_ticket_b_code", ("b", "code")),
    }


def test_table_items_without_foreign_keys() -> None:
    entity = make_entity(Field("account", "lookup", "A", target="account"))
    with_keys = [i for i in table_items(entity) if isinstance(i, ForeignKeyConstraint)]
    without = [i for i in table_items(entity, foreign_keys=False) if isinstance(i, ForeignKeyConstraint)]
    assert [fk.name for fk in with_keys] == ["fk_ticket_account"]
    assert without == []


# -- tables ------------------------------------------------------------------------------

def test_entity_table_is_built_once_per_metadata() -> None:
    metadata = MetaData()
    users_stub(metadata)
    entity = make_entity(Field("subject", "text", "S"))
    table = entity_table(entity, metadata)
    assert entity_table(entity, metadata) is table
    assert entity_table(entity, MetaData()) is not table
    assert [c.name for c in table.columns] == [*SYSTEM, "subject"]


def test_users_stub_is_reused() -> None:
    metadata = MetaData()
    stub = users_stub(metadata)
    assert users_stub(metadata) is stub
    assert [c.name for c in stub.columns] == ["id"]


def test_entity_tables_of_the_tiny_pack_create_on_sqlite() -> None:
    pack = validate_pack(FIXTURES_DIR / "packs" / "tiny").raise_for_errors()
    metadata = MetaData()
    tables = entity_tables(pack.entities, metadata)
    assert set(tables) == {"company", "person"}
    assert set(metadata.tables) == {USERS_TABLE, "xrm_queues", "company", "person"}
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    inspector = inspect(engine)
    assert {ix["name"] for ix in inspector.get_indexes("person")} == {
        "ix_person_employer", "ix_person_full_name_email", "ix_person_manager", "ix_person_owner_id",
        "ix_person_owner_queue_id",
    }
    assert {fk["name"]: fk["referred_table"] for fk in inspector.get_foreign_keys("person")} == {
        "fk_person_employer": "company", "fk_person_manager": USERS_TABLE, "fk_person_created_by": USERS_TABLE,
        "fk_person_updated_by": USERS_TABLE, "fk_person_owner_id": USERS_TABLE, "fk_person_owner_queue_id": "xrm_queues",
    }
    assert {uq["name"] for uq in inspector.get_unique_constraints("company")} == {
        "uq_company_name", "uq_company_code", "uq_company_name_founded",
    }
    engine.dispose()


def test_index_names_of_different_tables_can_collide_so_validation_checks_them() -> None:
    """Names join table and columns with '_': order.line_total and order_line.total meet (see check_constraint_names)."""
    order = make_entity(Field("line_total", "integer", "L", indexed=True), name="order")
    order_line = make_entity(Field("total", "integer", "T", indexed=True), name="order_line")
    tables = entity_tables([order, order_line], MetaData())
    names = [{i.name for i in tables[e].indexes} for e in ("order", "order_line")]
    assert "ix_order_line_total" in names[0] & names[1]
