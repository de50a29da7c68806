"""Loading test rows into a database and running compiled expressions against them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, insert, select

from xrm.rules.expr import CheckedExpression

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

#: Accounts every test database holds: 1 → parent 3; 2 has empty values; 3 has no parent.
ACCOUNTS: tuple[dict[str, Any], ...] = (
    {"id": 3, "name": "Initech", "region": "east", "industry": "tech", "employees": 20, "parent_account": None},
    {"id": 1, "name": "Acme", "region": "west", "industry": "Tech", "employees": 500, "parent_account": 3},
    {"id": 2, "name": "Globex", "region": None, "industry": "", "employees": None, "parent_account": None},
)


def full_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of ``table`` (executemany needs the same keys in every row), system columns filled in."""
    defaults = {"version": 1, "created_at": EPOCH, "updated_at": EPOCH}
    return {c.name: row.get(c.name, defaults.get(c.name)) for c in table.c}


def load_accounts(engine: Engine, tables: Mapping[str, Table]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(tables["account"]), [full_row(tables["account"], a) for a in ACCOUNTS])


def load_leads(engine: Engine, tables: Mapping[str, Table], leads: Sequence[Mapping[str, Any]]) -> None:
    """Replace the lead table's rows with ``leads``."""
    with engine.begin() as connection:
        connection.execute(delete(tables["lead"]))
        if leads:
            connection.execute(insert(tables["lead"]), [full_row(tables["lead"], lead) for lead in leads])


def python_record(lead: Mapping[str, Any]) -> dict[str, Any]:
    """A lead row as the Python callable sees it: lookups expanded into nested mappings."""
    accounts = {a["id"]: dict(a) for a in ACCOUNTS}
    for account in accounts.values():
        account["parent_account"] = accounts.get(account["parent_account"])
    record = full_row_like(lead)
    record["account"] = accounts.get(lead.get("account"))
    return record


def full_row_like(lead: Mapping[str, Any]) -> dict[str, Any]:
    return {"version": 1, "created_at": EPOCH, "updated_at": EPOCH, **lead}


def sql_rows(engine: Engine, tables: Mapping[str, Table], checked: CheckedExpression,
             now: datetime) -> tuple[set[int], dict[int, Any]]:
    """(ids the SQL filter selects, id → SQL value of the expression) for the loaded leads."""
    compiled = checked.sql(tables, now=now)
    lead = tables["lead"]
    values_query = select(lead.c.id, compiled.value.label("value")).select_from(compiled.from_clause())
    with engine.connect() as connection:
        selected = {row.id for row in connection.execute(compiled.apply_filter(select(lead.c.id)))}
        values = {row.id: row.value for row in connection.execute(values_query)}
    return selected, values
