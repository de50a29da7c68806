"""The catalog: everything installed, as the runtime sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from xrm.metadata.dashboards import Dashboard
from xrm.metadata.model import Entity, ListView, Pack, Role, RuleFile, Workflow

#: Kinds of object a pack declares beside entities (which carry their pack themselves).
OWNED_KINDS = ("view", "workflow", "role", "dashboard")


def _frozen(mapping: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


def pack_owners(pack: Pack) -> dict[tuple[str, str], str]:
    """``(kind, name) → pack name`` for the views, workflows and roles of ``pack``."""
    groups = {"view": pack.views, "workflow": pack.workflows, "role": pack.roles, "dashboard": pack.dashboards}
    return {(kind, item.name): pack.name for kind, items in groups.items() for item in items}


@dataclass(frozen=True)
class InstalledPack:
    name: str
    version: str
    label: str
    description: str | None = None
    installed_at: datetime | None = None
    #: teams, queues and calendars the pack declares (its manifest's ``organization``)
    organization: Mapping[str, Any] = field(default_factory=_frozen)


@dataclass(frozen=True)
class Catalog:
    """Installed packs and their objects, keyed by name."""

    packs: Mapping[str, InstalledPack] = field(default_factory=_frozen)
    entities: Mapping[str, Entity] = field(default_factory=_frozen)
    views: Mapping[str, ListView] = field(default_factory=_frozen)
    workflows: Mapping[str, Workflow] = field(default_factory=_frozen)
    roles: Mapping[str, Role] = field(default_factory=_frozen)
    #: Which pack declared each view, workflow and role: ``(kind, name) → pack``.
    owners: Mapping[tuple[str, str], str] = field(default_factory=_frozen)
    #: Rule files by ``pack/path`` (two packs may both have rules/main.rules).
    rule_files: Mapping[str, RuleFile] = field(default_factory=_frozen)
    #: Dashboards by name, the administrators' edits over the packs' (``xrm.metadata.dashboard_store``).
    dashboards: Mapping[str, Dashboard] = field(default_factory=_frozen)

    def __post_init__(self) -> None:
        for name in ("packs", "entities", "views", "workflows", "roles", "owners", "rule_files", "dashboards"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def declared(self, kind: str) -> frozenset[str]:
        """Names of the ``kind`` ("teams", "queues", "calendars") the installed packs declare."""
        return frozenset(item["name"] for pack in self.packs.values()
                         for item in pack.organization.get(kind, ()) if isinstance(item, Mapping))

    def owner(self, kind: str, name: str) -> str | None:
        """The pack that declared the ``kind`` object ``name`` (entities included)."""
        if kind == "entity":
            entity = self.entities.get(name)
            return entity.pack if entity else None
        return self.owners.get((kind, name))

    def with_pack(self, pack: Pack) -> Catalog:
        """This catalog plus ``pack``, as if it were installed (for validating against pack folders)."""
        return Catalog(
            packs={**self.packs, pack.name: InstalledPack(pack.name, pack.version, pack.label, pack.description,
                                                          organization=pack.organization)},
            entities={**self.entities, **{e.name: e for e in pack.entities}},
            views={**self.views, **{v.name: v for v in pack.views}},
            workflows={**self.workflows, **{w.name: w for w in pack.workflows}},
            roles={**self.roles, **{r.name: r for r in pack.roles}},
            owners={**self.owners, **pack_owners(pack)},
            rule_files={**self.without_pack(pack.name).rule_files,
                        **{f"{pack.name}/{f.path}": f for f in pack.rule_files}},
            dashboards={**self.dashboards, **{d.name: d for d in pack.dashboards}},
        )

    def without_pack(self, name: str) -> Catalog:
        """This catalog without the objects pack ``name`` declared."""
        def keep(kind: str, items: Mapping) -> dict:
            return {key: item for key, item in items.items() if self.owners.get((kind, key)) != name}

        return Catalog(
            packs={k: v for k, v in self.packs.items() if k != name},
            entities={k: e for k, e in self.entities.items() if e.pack != name},
            views=keep("view", self.views),
            workflows=keep("workflow", self.workflows),
            roles=keep("role", self.roles),
            owners={key: owner for key, owner in self.owners.items() if owner != name},
            rule_files={key: f for key, f in self.rule_files.items() if not key.startswith(f"{name}/")},
            dashboards=keep("dashboard", self.dashboards),
        )
