"""What the cross-file checks look at: the pack's built objects, where each came from, and what is installed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Generic, TypeVar

from xrm.metadata.catalog import Catalog
from xrm.metadata.dashboards import Dashboard
from xrm.metadata.model import Entity, ListView, Role, Workflow
from xrm.metadata.org_tables import PLATFORM_PACK
from xrm.metadata.problems import JsonPath, PackProblem, format_json_path
from xrm.metadata.suggest import did_you_mean

T = TypeVar("T")


@dataclass(frozen=True)
class Located(Generic[T]):
    """An object built from a pack file, with the file it came from."""

    obj: T
    file: str
    #: For entities: where each built field sits in the file's ``fields`` list.
    positions: tuple[int, ...] = ()

    def field_path(self, index: int) -> JsonPath:
        return ("fields", self.positions[index] if index < len(self.positions) else index)


@dataclass(frozen=True)
class Scope:
    """What the checks see: the pack's objects and the catalog of installed packs."""

    pack_name: str
    manifest: Mapping[str, Any]
    entities: tuple[Located[Entity], ...]
    views: tuple[Located[ListView], ...]
    workflows: tuple[Located[Workflow], ...]
    roles: tuple[Located[Role], ...]
    installed: Catalog
    #: Names declared by files too broken to build; known, so they raise no "unknown" errors.
    unbuilt_entities: frozenset[str] = frozenset()
    #: Per entity, fields left out of the build for schema errors (also known).
    broken_fields: Mapping[str, frozenset[str]] = dataclass_field(default_factory=dict)

    #: Entities whose fields have errors: expressions over them are checked once those are fixed.
    unready_entities: frozenset[str] = frozenset()
    dashboards: tuple[Located[Dashboard], ...] = ()

    def has_field(self, entity: Entity, name: str) -> bool:
        """True when ``entity`` declares ``name`` (even in a field too broken to build)."""
        return entity.field(name) is not None or name in self.broken_fields.get(entity.name, ())

    @property
    def dependencies(self) -> frozenset[str]:
        return frozenset(self.manifest.get("depends_on") or {})

    @property
    def all_entities(self) -> dict[str, Entity]:
        """The entities this pack may use: its own and those of the packs it depends on."""
        # the platform's own entities (users, teams, queues, calendars) are there for every pack
        visible = {n: e for n, e in self.installed.entities.items()
                   if e.pack in self.dependencies or e.pack == PLATFORM_PACK}
        return {**visible, **{e.obj.name: e.obj for e in self.entities}}

    @property
    def known_entity_names(self) -> set[str]:
        return set(self.all_entities) | self.unbuilt_entities

    @property
    def all_role_names(self) -> set[str]:
        visible = {name for name in self.installed.roles if self.installed.owner("role", name) in self.dependencies}
        return visible | {r.obj.name for r in self.roles}


def problem_at(file: str, path: JsonPath, message: str, **details: Any) -> PackProblem:
    return PackProblem(file, message, path=format_json_path(path), **details)


def unknown_field(file: str, path: JsonPath, name: str, entity: Entity, *, also: frozenset[str] = frozenset()) -> PackProblem:
    candidates = [*entity.field_names, *also]
    return problem_at(
        file, path, f"entity '{entity.name}' has no field '{name}'", found=name,
        expected=f"a field of {entity.name}", hint=did_you_mean(name, candidates),
    )
