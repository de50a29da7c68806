"""SQL compiler: joins, escaping, dialect date math, and the same answers as Python on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from tests.rules.expr.support import load_accounts, load_leads, python_record, sql_rows
from xrm.metadata.tables import entity_tables
from xrm.rules.expr import ExpressionError
from xrm.rules.expr.sqlcompile import escape_like

NOW = datetime(2024, 6, 2, 12, 0, tzinfo=UTC)
LEADS = [
    {"id": 1, "last_name": "Smith", "email": "bob@ACME.com", "country": "DE", "employees": 10,
     "annual_revenue": Decimal("150000.00"), "is_hot": True, "close_date": date(2024, 6, 10),
     "last_activity_at": datetime(2024, 6, 1, 9, 0, 0, 999600, tzinfo=UTC), "response_time": 7200,
     "status": "new", "tags": ["vip"], "account": 1},
    {"id": 2, "last_name": "50%_off", "email": "", "country": None, "employees": None, "annual_revenue": None,
     "is_hot": None, "close_date": None, "last_activity_at": None, "response_time": None, "status": None,
     "tags": None, "account": None},
    {"id": 3, "last_name": "5000 off", "email": "x@example.org", "country": "US", "employees": 0,
     "annual_revenue": Decimal("0.10"), "is_hot": False, "close_date": date(2024, 2, 29),
     "last_activity_at": datetime(2023, 12, 31, 23, 59, tzinfo=UTC), "response_time": -90000, "status": "lost",
     "tags": [], "account": 2},
]


@pytest.fixture
def db(engine, entities):  # noqa: ANN001, ANN201
    tables = entity_tables(entities.values())
    tables["lead"].metadata.create_all(engine)
    load_accounts(engine, tables)
    load_leads(engine, tables, LEADS)
    return engine, tables


@pytest.mark.parametrize(("source", "ids"), [
    ("annual_revenue > 1000", {1}),
    ("not (country = 'DE')", {2, 3}),
    ("country != 'DE'", {3}),
    ("last_name contains '%_'", {2}),
    ("last_name starts_with '50%'", {2}),
    ("last_name like '50\\\\%%'", {2}),
    ("email ends_with '@acme.com'", {1}),
    ("email is empty", {2}),
    ("tags is empty", {2, 3}),
    ("'vip' in tags", {1}),
    ("'vip' not in tags", {2, 3}),
    ("account.parent_account.industry = 'tech'", {1}),
    ("account.region is empty", {2, 3}),
    ("close_date - 1d = 2024-02-28", {3}),
    ("close_date + 25h = 2024-03-01", {3}),
    ("last_activity_at + 1s > 2024-06-01T09:00:01Z", {1}),
    ("last_activity_at + 1s < 2024-06-01T09:00:02Z", {1, 3}),
    ("days_between(close_date, today()) < 0", {1}),
    ("employees / employees = 1", {1}),
    ("annual_revenue * 3 = 0.3", {3}),
    ("if(is_hot, 1, 0) = 0", {2, 3}),
    ("min(employees, 5) = 5", {1, 2}),
    ("response_time < 0m", {3}),
    ("created_at < now()", {1, 2, 3}),
    # 2024-06-02T12:00Z - 2024-06-01T09:00:00.9996Z is 1d 2h 59m 59.0004s: whole seconds truncate
    ("now() - last_activity_at = 1d 2h 59m 59s", {1}),
    ("last_activity_at - now() = -(1d 2h 59m 59s)", {1}),  # toward zero, not -1d 3h
    ("last_activity_at - now() = 0m - 1d 2h 59m 59s", {1}),
    ("now() - last_activity_at > 30d", {3}),
])
def test_filters_match_python(db, entities, source: str, ids: set[int]) -> None:  # noqa: ANN001
    engine, tables = db
    from xrm.rules.expr import check_expression
    checked = check_expression(source, entities["lead"], entities)
    selected, _ = sql_rows(engine, tables, checked, NOW)
    python = {row["id"] for row in LEADS if checked.python(python_record(row), {"now": NOW}) is True}
    assert selected == python == ids


@pytest.mark.parametrize(("source", "expected"), [
    ("abs(((-0.01) + (5.44)) * 1.5)", Decimal("8.145")),  # once computed as -0.01 + 5.44 * 1.5 in SQL
    ("(employees + 2) * 3", None),
    ("2 * (annual_revenue - 1) - (annual_revenue - 1)", None),
])
def test_parenthesized_arithmetic_keeps_its_grouping_in_sql(db, entities, source: str, expected) -> None:  # noqa: ANN001
    engine, tables = db
    from xrm.rules.expr import check_expression
    checked = check_expression(source, entities["lead"], entities)
    _, values = sql_rows(engine, tables, checked, NOW)
    for row in LEADS:
        python = checked.python(python_record(row), {"now": NOW})
        assert python == (expected if expected is not None else python)
        sql = values[row["id"]]
        assert (sql is None and python is None) or abs(Decimal(sql) - Decimal(python)) < Decimal("0.000001"), \
            (row["id"], python, sql)


def test_lookup_paths_join_once_per_prefix(check, entities) -> None:  # noqa: ANN001
    tables = entity_tables(entities.values())
    compiled = check("account.parent_account.industry = 'x' or account.name = 'y'").sql(tables)
    assert len(compiled.joins) == 2
    text = str(compiled.apply_filter(select(tables["lead"].c.id)).compile(dialect=sqlite.dialect()))
    assert text.count("LEFT OUTER JOIN account AS") == 2


def test_constants_are_bound_parameters(check, entities) -> None:  # noqa: ANN001
    tables = entity_tables(entities.values())
    hostile = "x'; DROP TABLE lead; --"
    compiled = check(f"last_name = '{hostile.replace(chr(39), chr(92) + chr(39))}'").sql(tables)
    text = str(compiled.where.compile(dialect=postgresql.dialect()))
    assert "DROP" not in text
    assert hostile in compiled.where.compile(dialect=postgresql.dialect()).params.values()


def test_condition_values_never_compile_to_null(check, entities) -> None:  # noqa: ANN001
    tables = entity_tables(entities.values())
    text = str(check("country != 'DE'").sql(tables).value.compile(dialect=sqlite.dialect()))
    assert text.startswith("coalesce(")


def test_where_leaves_comparisons_under_and_or_bare_so_indexes_apply(check, entities) -> None:  # noqa: ANN001
    tables = entity_tables(entities.values())
    text = str(check("country = 'DE' and (employees > 5 or country in ('AT', 'CH'))").sql(tables)
               .where.compile(dialect=sqlite.dialect()))
    assert "coalesce" not in text


def test_where_keeps_comparisons_under_not_strict(check, entities) -> None:  # noqa: ANN001
    tables = entity_tables(entities.values())
    text = str(check("not (country = 'DE') and employees > 5").sql(tables).where.compile(dialect=sqlite.dialect()))
    assert text.startswith("coalesce(lead.country = ?, 0) = 0 AND ")  # SQLite spells NOT x as x = 0


def test_escape_like() -> None:
    assert escape_like("50%_\\") == "50\\%\\_\\\\"


def test_rule_functions_do_not_compile_to_sql(check, entities) -> None:  # noqa: ANN001
    with pytest.raises(ExpressionError) as raised:
        check("changed(status)", rule_context=True).sql(entity_tables(entities.values()))
    assert raised.value.first.message == "changed() only works in rule conditions, not in SQL filters"
