"""The two compilations agree: random well-typed expressions over random leads, on SQLite and PostgreSQL.

Each example loads 50 generated leads (one table load) and checks several
expressions of every type against them: the set of ids the SQL filter selects
equals the set the Python callable accepts, and every row's SQL value equals
the Python value.  Profiles: ``ci`` (default) and ``long``
(``HYPOTHESIS_PROFILE=long``) for deeper local runs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.rules.expr.generators import expression, leads
from tests.rules.expr.support import load_accounts, load_leads, python_record, sql_rows
from xrm.metadata.tables import entity_tables
from xrm.rules.expr import check_expression

settings.register_profile(
    "ci", max_examples=120, deadline=None, derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)
settings.register_profile(
    "long", parent=settings.get_profile("ci"), max_examples=2000,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

KINDS = ["boolean", "boolean", "boolean", "integer", "decimal", "text", "date", "datetime", "duration"]
now_values = st.datetimes(datetime(2000, 1, 1), datetime(2060, 1, 1), timezones=st.just(UTC))


@pytest.fixture
def loaded(engine: Engine, entities):  # noqa: ANN001, ANN201
    """A database with the test tables and accounts; each example replaces the leads."""
    tables = entity_tables(entities.values())
    tables["lead"].metadata.create_all(engine)
    load_accounts(engine, tables)
    return engine, tables


def _same(kind: str, python_value: Any, sql_value: Any, dialect: str) -> bool:
    if python_value is None or sql_value is None:
        return python_value is None and sql_value is None
    if kind == "decimal" and dialect == "sqlite":
        # SQLite keeps decimals as floats: agree to 6 places (values stay within 15 significant digits)
        return abs(Decimal(python_value) - Decimal(sql_value)) < Decimal("0.000001")
    return python_value == sql_value


def _agree(engine: Engine, tables, entities, sources: list[tuple[str, str]], rows: list[dict], now: datetime) -> None:
    load_leads(engine, tables, rows)
    records = {row["id"]: python_record(row) for row in rows}
    context = {"now": now}
    for kind, source in sources:
        checked = check_expression(source, entities["lead"], entities)
        assert checked.type in (kind, "null"), (source, checked.type)
        selected, values = sql_rows(engine, tables, checked, now)
        python_values = {i: checked.python(record, context) for i, record in records.items()}
        if kind == "boolean":
            accepted = {i for i, value in python_values.items() if value is True}
            assert selected == accepted, (source, sorted(selected ^ accepted))
            continue
        for lead_id, python_value in python_values.items():
            sql_value = values[lead_id]
            assert _same(kind, python_value, sql_value, engine.dialect.name), (source, lead_id, python_value, sql_value)


@given(
    rows=leads(),
    sources=st.lists(st.one_of(*(expression(k).map(lambda s, k=k: (k, s)) for k in KINDS)), min_size=6, max_size=6),
    now=now_values,
)
def test_python_and_sql_agree(loaded, entities, rows, sources, now) -> None:  # noqa: ANN001
    engine, tables = loaded
    _agree(engine, tables, entities, sources, rows, now)


@given(rows=leads(), now=now_values)
@settings(max_examples=15)
def test_hand_picked_conditions_agree(loaded, entities, rows, now) -> None:  # noqa: ANN001
    """Conditions people write, on the same random rows: the generated ones must not miss the obvious."""
    engine, tables = loaded
    sources = [("boolean", s) for s in (
        "annual_revenue > 100000 and status in ('new', 'working')",
        "not (country = 'DE') or is_hot",
        "country != 'DE'",
        "email ends_with '@acme.com' or email contains '%'",
        "'vip' in tags and 'press' not in tags",
        "close_date - 30d <= today() and close_date >= today()",
        "last_activity_at < now() - 2w",
        "account.region = 'west' or account.parent_account.industry = 'tech'",
        "account is empty or account.employees is empty",
        "coalesce(annual_revenue, 0) / coalesce(employees, 1) > 50",
        "last_name like '%a_'",
        "lower(last_name) = upper(last_name)",
        "if(is_hot, annual_revenue, score) > 0",
        "len(trim(concat(last_name, ' ', email))) > 3",
        "days_between(close_date, today()) between_placeholder".replace(" between_placeholder", " > -100"),
        "response_time * 2 > 1d 4h",
    )]
    _agree(engine, tables, entities, sources, rows, now)
