"""Every expression the bundled packs ship compiles both ways and runs on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from tests.conftest import PACKS_DIR
from xrm.context import Actor, Context
from xrm.metadata.catalog import Catalog
from xrm.metadata.installer import install_pack, installed_catalog
from xrm.metadata.model import Entity
from xrm.metadata.tables import entity_tables
from xrm.migrate import upgrade
from xrm.rules.expr import check_expression

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
BUNDLED = ("crm", "service", "partners")


def pack_expressions(catalog: Catalog) -> Iterator[tuple[str, Entity, str, str | None]]:
    """(where, entity, source, expected type) of every expression in the catalog."""
    from xrm.metadata.fieldtypes import get_field_type

    for entity in catalog.entities.values():
        for field in entity.fields:
            if field.expression:
                expected = get_field_type(field.returns).value_type_of(field) if field.returns else None
                yield f"{entity.name}.{field.name}", entity, field.expression, expected
        for rule in entity.validations:
            yield f"{entity.name} validation {rule.name}", entity, rule.check, "boolean"
    for view in catalog.views.values():
        if view.filter:
            yield f"view {view.name}", catalog.entities[view.entity], view.filter, "boolean"
    for flow in catalog.workflows.values():
        for transition in flow.transitions:
            if transition.guard:
                yield f"{flow.name}.{transition.name}", catalog.entities[flow.entity], transition.guard, "boolean"


def test_every_pack_expression_compiles_to_python_and_sql_and_runs(engine: Engine) -> None:
    upgrade(engine)
    for name in BUNDLED:
        install_pack(engine, PACKS_DIR / name, Context(actor=Actor.system("tester"), source="cli"))
    catalog = installed_catalog(engine)
    tables = entity_tables(catalog.entities.values())
    expressions = list(pack_expressions(catalog))
    assert len(expressions) > 100
    with engine.connect() as connection:
        for where, entity, source, expected in expressions:
            checked = check_expression(source, entity, catalog.entities, expected=expected)
            checked.python({}, {"now": NOW})  # an empty record: every field empty
            compiled = checked.sql(tables, now=NOW)
            statement = select(compiled.value).select_from(compiled.from_clause()).where(compiled.where)
            # the packs' declared teams, queues and calendars are the only records: each row is one of them
            rows = connection.execute(statement).all()
            assert entity.pack == "platform" or rows == [], where
