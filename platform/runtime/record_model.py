"""What the record layer derives from one catalog version: tables, compiled logic and references.

Built once per metadata version (``CatalogCache.model()``) and shared by every
request of the process; nothing in it is specific to a request or a user.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table

from xrm.metadata.catalog import Catalog
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.fieldtypes.relation import USERS_TABLE
from xrm.metadata.model import Entity, Field
from xrm.metadata.suggest import did_you_mean
from xrm.metadata.tables import entity_tables
from xrm.rules.expr.nodes import Path, walk
from xrm.runtime.record_errors import NotFound
from xrm.runtime.record_logic import EntityLogic, compile_entity_logic


@dataclass(frozen=True)
class FormulaDependent:
    """Formulas of ``entity`` that read ``fields`` of another entity's record through the lookup ``lookup``."""

    entity: str
    lookup: str
    fields: frozenset[str]


@dataclass(frozen=True)
class Reference:
    """A lookup field of ``entity`` that points to records of another entity."""

    entity: str
    field: Field

    @property
    def on_delete(self) -> str:
        return get_field_type(self.field.type).on_delete(self.field)  # type: ignore[attr-defined]


class RecordModel:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        metadata = MetaData()
        self.tables: Mapping[str, Table] = entity_tables(catalog.entities.values(), metadata)
        self.users_table: Table = metadata.tables[USERS_TABLE]
        self._logic: dict[str, EntityLogic] = {}
        self._lock = threading.Lock()
        self._memo: OrderedDict[Hashable, Any] = OrderedDict()
        references: dict[str, list[Reference]] = {}
        for entity in catalog.entities.values():
            for field in entity.fields:
                target = get_field_type(field.type).foreign_key_target(field)
                if target is not None and target[0] in catalog.entities:
                    references.setdefault(target[0], []).append(Reference(entity.name, field))
        self._references = {k: tuple(v) for k, v in references.items()}

    def entity(self, name: str) -> Entity:
        """The entity called ``name``; ``NotFound`` (with a suggestion) when there is none."""
        entity = self.catalog.entities.get(name)
        if entity is None:
            shown = name if len(str(name)) <= 80 else f"{str(name)[:80]}…"
            hint = did_you_mean(name, self.catalog.entities) if isinstance(name, str) and len(name) <= 80 else None
            raise NotFound(f"there is no entity '{shown}'" + (f"; {hint}" if hint else ""))
        return entity

    def table(self, name: str) -> Table:
        return self.tables[name]

    def logic(self, name: str) -> EntityLogic:
        """The entity's formulas and validation rules, compiled on first use."""
        logic = self._logic.get(name)
        if logic is None:
            with self._lock:
                logic = self._logic.get(name) or compile_entity_logic(self.entity(name), self.catalog.entities)
                self._logic[name] = logic
        return logic

    #: How many derived objects (checked filters, visible entities per role set) ``memo`` keeps.
    MEMO_SIZE = 512

    def memo(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """``build()``, kept for later calls with the same ``key`` (least recently used dropped first).

        For things derived from this metadata version only (a checked filter
        for a set of roles): they never go stale, the whole model is replaced
        when the metadata changes.
        """
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = build()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > self.MEMO_SIZE:
                self._memo.popitem(last=False)
        return value

    def references_to(self, name: str) -> tuple[Reference, ...]:
        """Lookup fields (of any entity) pointing to ``name``'s records."""
        return self._references.get(name, ())

    def formula_dependents(self, name: str) -> tuple[FormulaDependent, ...]:
        """Who must recompute stored formulas when a record of ``name`` changes (one lookup away)."""
        return self.memo(("formula_dependents", name), lambda: self._formula_dependents(name))

    def _formula_dependents(self, name: str) -> tuple[FormulaDependent, ...]:
        found = []
        for entity in self.catalog.entities.values():
            for field in entity.fields:
                if self.target_of(field) != name:
                    continue
                read = frozenset(
                    node_field for _formula, checked in self.logic(entity.name).formulas
                    for path in _paths(checked) if len(path) == 2 and path[0] == field.name
                    for node_field in (path[1],))
                if read:
                    found.append(FormulaDependent(entity.name, field.name, read))
        return tuple(found)

    def target_of(self, field: Field) -> str | None:
        """The entity a lookup field points to (None for user fields and other types)."""
        target = get_field_type(field.type).foreign_key_target(field)
        return target[0] if target is not None and target[0] in self.catalog.entities else None


def _paths(checked: Any) -> list[tuple[str, ...]]:
    """The field paths an expression reads, as name tuples (``account.industry`` → ('account', 'industry'))."""
    return [node.names for node in walk(checked.tree) if isinstance(node, Path)]
