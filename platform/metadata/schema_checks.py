"""Checking a table change against the stored records: what is in the way, how many records, which ones.

``check_diff`` looks at the data an ``EntityDiff`` would touch: a unique
constraint over duplicates, a required field with empty rows, a type the stored
values cannot convert to (in place, on both databases); ``value_use`` counts
the records holding a picklist value.  Each finding is an ``Offending`` with
the number of records and a sample (id and the values at fault).  Nothing is
changed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, Connection, Integer, MetaData, Numeric, String, Table, Text, and_, func, or_, select, tuple_
from sqlalchemy import column as sql_column

from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field
from xrm.metadata.schema_changes import EntityDiff, Offending, nullable
from xrm.metadata.tables import entity_tables

SAMPLE_SIZE = 5


_TEXT, _NUMBER, _INTEGER = (String, Text), (Numeric,), (BigInteger, Integer)


def _storage_convertible(old: Field, new: Field) -> bool:
    """Whether the column can change type in place on both databases (an implicit or assignment cast)."""
    a, b = (get_field_type(f.type).column_type(f) for f in (old, new))
    if isinstance(a, _TEXT) and isinstance(b, _TEXT):
        return True
    if isinstance(a, _INTEGER + _NUMBER) and isinstance(b, _NUMBER):
        return True
    return isinstance(a, _INTEGER) and isinstance(b, _INTEGER) or isinstance(a, JSON) and isinstance(b, JSON)


def _converts(value: Any, new: Field) -> bool:
    field_type = get_field_type(new.type)
    try:
        coerced = field_type.coerce(str(value) if isinstance(field_type.column_type(new), _TEXT) else value, new)
    except FieldValueError:
        return False
    return coerced is None or field_type.validate(coerced, new) is None


# -- checks against the data --------------------------------------------------------------------------


def _table(connection: Connection, entity: Entity) -> Table:
    """The live table as the entity ``before`` the change describes it."""
    return entity_tables([entity], MetaData())[entity.name]


def _sample(connection: Connection, table: Table, condition: Any, columns: Sequence[str]) -> tuple[int, tuple]:
    count = connection.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
    rows = connection.execute(select(table.c.id, *(table.c[c] for c in columns)).where(condition)
                              .order_by(table.c.id).limit(SAMPLE_SIZE)).mappings().all() if count else []
    return count, tuple(dict(row) for row in rows)


def _empty(column: Any, f: Field) -> Any:
    if isinstance(get_field_type(f.type).column_type(f), _TEXT):
        return or_(column.is_(None), column == "")
    return column.is_(None)


def check_diff(connection: Connection, diff: EntityDiff) -> list[Offending]:
    """Every way the stored records stop ``diff``, with counts and samples (nothing is changed)."""
    if diff.before is None or diff.after is None:
        return []
    before, after = diff.before, diff.after
    table = _table(connection, before)
    old_name = {new: old for old, new in diff.renamed}
    problems = [Offending(after.name, (), "unsupported", text, 0) for text in diff.unsupported]
    rows = None
    for name in diff.made_required + tuple(n for n in diff.added if n not in diff.backfill and not nullable(after.field(n))):
        new = after.field(name)
        if name in diff.added:
            rows = rows if rows is not None else connection.execute(select(func.count()).select_from(table)).scalar_one()
            if rows:
                problems.append(Offending(after.name, (name,), "empty",
                                          f"{rows} existing records would have no value for the new required field "
                                          f"'{name}': give it a default, or add it as optional first", rows))
            continue
        if name in diff.removed:
            continue
        source = old_name.get(name, name)
        column = table.c[source] if source in table.c else sql_column(source)
        count, sample = _sample(connection, table, _empty(column, new), [source] if source in table.c else [])
        if count:
            problems.append(Offending(after.name, (name,), "empty",
                                      f"{count} records have no value in '{name}', which would become required",
                                      count, sample))
    for name in diff.retyped:
        old, new = before.field(old_name.get(name, name)), after.field(name)
        assert old is not None and new is not None
        problems += _conversion_problems(connection, table, old, new, after.name)
    for constraint, columns in diff.uniques_added:
        problems += _duplicates(connection, table, after.name, constraint,
                                [old_name.get(c, c) for c in columns], columns)
    return problems


def _conversion_problems(connection: Connection, table: Table, old: Field, new: Field, entity: str) -> list[Offending]:
    if not _storage_convertible(old, new):
        rows = connection.execute(select(func.count()).select_from(table).where(table.c[old.name].is_not(None))).scalar_one()
        return [Offending(entity, (new.name,), "unsupported",
                          f"'{new.name}' cannot change from {old.type} to {new.type} in place "
                          f"({rows} records hold a value): add a new field and copy the values instead", rows)]
    column = table.c[old.name]
    failing: list[dict[str, Any]] = []
    count = 0
    for row in connection.execute(select(table.c.id, column).where(column.is_not(None)).order_by(table.c.id)):
        if not _converts(row[1], new):
            count += 1
            if len(failing) < SAMPLE_SIZE:
                failing.append({"id": row[0], new.name: row[1]})
    if not count:
        return []
    return [Offending(entity, (new.name,), "unconvertible",
                      f"{count} values of '{new.name}' cannot become {new.type}", count, tuple(failing))]


def _duplicates(connection: Connection, table: Table, entity: str, constraint: str, sources: Sequence[str],
                columns: Sequence[str]) -> list[Offending]:
    if not all(c in table.c for c in sources):
        return []
    cols = [table.c[c] for c in sources]
    shared = select(*cols).where(and_(*(c.is_not(None) for c in cols))).group_by(*cols).having(func.count() > 1)
    duplicated = (cols[0] if len(cols) == 1 else tuple_(*cols)).in_(shared)
    count, sample = _sample(connection, table, duplicated, sources)
    if not count:
        return []
    return [Offending(entity, tuple(columns), "duplicates",
                      f"{count} records share a value of {', '.join(columns)} with another record, so it cannot "
                      "become unique", count, sample)]


def value_use(connection: Connection, entity: Entity, f: Field, value: str) -> tuple[int, tuple]:
    """How many records hold picklist ``value`` in ``f`` (a multi-select among its values), and a sample."""
    table = _table(connection, entity)
    column = table.c[f.name]
    if not isinstance(get_field_type(f.type).column_type(f), JSON):
        return _sample(connection, table, column == value, [f.name])
    ids = [row[0] for row in connection.execute(select(table.c.id, column).where(column.is_not(None)))
           if value in (row[1] or ())]
    return len(ids), tuple({"id": i, f.name: value} for i in ids[:SAMPLE_SIZE])
