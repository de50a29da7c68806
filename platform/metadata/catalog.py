"""The catalog: everything installed, as the runtime sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from xrm.metadata.model import Entity, ListView, Pack, Role, Workflow


@dataclass(frozen=True)
class InstalledPack:
    name: str
    version: str
    label: str
    description: str | None = None
    installed_at: datetime | None = None


def _frozen(mapping: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Catalog:
    """Installed packs and their objects, keyed by name."""

    packs: Mapping[str, InstalledPack] = field(default_factory=_frozen)
    entities: Mapping[str, Entity] = field(default_factory=_frozen)
    views: Mapping[str, ListView] = field(default_factory=_frozen)
    workflows: Mapping[str, Workflow] = field(default_factory=_frozen)
    roles: Mapping[str, Role] = field(default_factory=_frozen)

    def __post_init__(self) -> None:
        for name in ("packs", "entities", "views", "workflows", "roles"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def with_pack(self, pack: Pack) -> Catalog:
        """This catalog plus ``pack``, as if it were installed (for validating against pack folders)."""
        return Catalog(
            packs=_frozen({**self.packs, pack.name: InstalledPack(pack.name, pack.version, pack.label, pack.description)}),
            entities=_frozen({**self.entities, **{e.name: e for e in pack.entities}}),
            views=_frozen({**self.views, **{v.name: v for v in pack.views}}),
            workflows=_frozen({**self.workflows, **{w.name: w for w in pack.workflows}}),
            roles=_frozen({**self.roles, **{r.name: r for r in pack.roles}}),
        )

    def without_pack(self, name: str) -> Catalog:
        """This catalog without the objects of pack ``name``."""
        return Catalog(
            packs=_frozen({k: v for k, v in self.packs.items() if k != name}),
            entities=_frozen({k: e for k, e in self.entities.items() if e.pack != name}),
            views=_frozen({k: v for k, v in self.views.items() if self._pack_of_entity(v.entity) != name}),
            workflows=_frozen({k: w for k, w in self.workflows.items() if self._pack_of_entity(w.entity) != name}),
            roles=self.roles,
        )

    def _pack_of_entity(self, entity: str) -> str | None:
        found = self.entities.get(entity)
        return found.pack if found else None
