"""Records as expressions read them: lookups followed (``account.industry``) hold the related record.

Expressions compiled to Python read a lookup path through nested mappings, so
before a formula, a validation rule, a guard or a rule condition runs, each
lookup it follows is replaced by the related row (one query per lookup on the
path).  This reads records; it never writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from xrm.metadata.model import Entity
from xrm.runtime.record_model import RecordModel


def expand_lookups(connection: Connection, model: RecordModel, entity: Entity, record: Mapping[str, Any],
                   paths: Iterable[str]) -> dict[str, Any]:
    """``record`` with each lookup in ``paths`` replaced by the related record (None when it is gone)."""
    expanded: dict[str, Any] = dict(record)
    for path in sorted(paths, key=lambda p: p.count(".")):
        *parents, last = path.split(".")
        holder: Any = expanded
        current = entity
        for name in parents:
            field = current.field(name)
            holder = holder.get(name) if isinstance(holder, dict) else None
            target = model.target_of(field) if field is not None else None
            if target is None:
                holder = None
                break
            current = model.entity(target)
        field = current.field(last)
        if not isinstance(holder, dict) or field is None or (target := model.target_of(field)) is None:
            continue
        value = holder.get(last)
        if isinstance(value, int):
            table = model.table(target)
            row = connection.execute(select(table).where(table.c.id == value)).mappings().first()
            holder[last] = None if row is None else dict(row)
    return expanded
