"""``validate_pack``: a pack folder → a built ``Pack`` or every problem with it.

Stages: read files (JSON syntax, duplicate keys) → JSON Schema per file →
build the dataclasses of files that passed → cross-file checks against the
pack itself and the installed catalog.  All problems are collected; nothing
stops at the first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xrm.metadata.builder import build_entity, build_role, build_view, build_workflow
from xrm.metadata.catalog import Catalog
from xrm.metadata.crosscheck import Located, Scope, cross_check
from xrm.metadata.dashboards import build_dashboard
from xrm.metadata.jsonfiles import JsonDocument
from xrm.metadata.loader import MANIFEST, PackSource, read_pack
from xrm.metadata.model import Pack
from xrm.metadata.org import platform_catalog
from xrm.metadata.problems import JsonPath, PackInvalid, PackProblem, has_errors
from xrm.metadata.schemas import schema_errors

_BUILDERS: dict[str, Callable[..., Any]] = {
    "entity": build_entity,
    "view": build_view,
    "workflow": build_workflow,
    "role": build_role,
    "dashboard": build_dashboard,
}


@dataclass(frozen=True)
class PackReport:
    """The outcome of validating a pack: the pack (when it has no errors) and all problems."""

    name: str
    pack: Pack | None
    problems: tuple[PackProblem, ...]
    source: PackSource

    @property
    def ok(self) -> bool:
        return self.pack is not None

    @property
    def errors(self) -> tuple[PackProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[PackProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def raise_for_errors(self) -> Pack:
        """The pack, or ``PackInvalid`` with every problem."""
        if self.pack is None:
            raise PackInvalid(self.name, self.problems)
        return self.pack


def validate_pack(root: Path, installed: Catalog | None = None) -> PackReport:
    """Validate the pack folder at ``root`` against itself and the ``installed`` catalog."""
    installed = installed or platform_catalog()
    source = read_pack(Path(root))
    problems = list(source.problems)
    usable_manifest = _usable(source.manifest, "manifest", problems) if source.manifest else None
    manifest = usable_manifest[0] if usable_manifest else None
    name = manifest["name"] if manifest else Path(root).name
    built: dict[str, list[Located]] = {kind: [] for kind in _BUILDERS}
    unbuilt_entities: set[str] = set()
    broken_fields: dict[str, frozenset[str]] = {}
    for kind, document in source.documents:
        usable = _usable(document, kind, problems)
        if usable is None:
            if kind == "entity":  # known by name, so that references to it are not reported as well
                named = isinstance(document.data, dict) and isinstance(document.data.get("name"), str)
                unbuilt_entities.add(document.data["name"] if named else Path(document.file).stem)
            continue
        data, positions, broken = usable
        if Path(document.file).stem != data["name"]:
            problems.append(PackProblem(
                document.file, f"the file declares '{data['name']}' but is named after '{Path(document.file).stem}'",
                path="$.name", hint=f"name the file {data['name']}.json, so that people find it", severity="warning",
            ))
        args = (data, name) if kind == "entity" else (data,)
        built[kind].append(Located(_BUILDERS[kind](*args), document.file, positions))
        if broken:
            broken_fields[data["name"]] = broken
    if manifest is None:
        return PackReport(name, None, tuple(problems), source)
    scope = Scope(
        pack_name=name, manifest=manifest,
        entities=tuple(built["entity"]), views=tuple(built["view"]),
        workflows=tuple(built["workflow"]), roles=tuple(built["role"]),
        installed=installed.without_pack(name), unbuilt_entities=frozenset(unbuilt_entities),
        broken_fields=broken_fields, dashboards=tuple(built["dashboard"]),
    )
    problems += cross_check(scope)
    problems.sort(key=lambda p: (p.file != MANIFEST, p.file))  # grouped by file, each file's in document order
    if has_errors(problems):
        return PackReport(name, None, tuple(problems), source)
    pack = Pack(
        name=name, version=manifest["version"], label=manifest["label"], description=manifest.get("description"),
        depends_on=dict(manifest.get("depends_on") or {}),
        entities=tuple(e.obj for e in scope.entities), views=tuple(v.obj for v in scope.views),
        workflows=tuple(w.obj for w in scope.workflows), roles=tuple(r.obj for r in scope.roles),
        rule_files=source.rule_files,
        dashboards=tuple(d.obj for d in scope.dashboards), organization=dict(manifest.get("organization") or {}),
    )
    rule_problems = pack_rule_problems(pack, installed)
    problems += rule_problems
    if has_errors(rule_problems):
        return PackReport(name, None, tuple(problems), source)
    return PackReport(name, pack, tuple(problems), source)


def pack_rule_problems(pack: Pack, installed: Catalog) -> list[PackProblem]:
    """The pack's rule files checked against the catalog with the pack in it; team, queue and calendar
    names must be declared by this pack or an installed one."""
    from xrm.rules.checker import OrgNames, check_rules

    if not pack.rule_files:
        return []
    catalog = installed.with_pack(pack)
    org = OrgNames(catalog.declared("teams"), catalog.declared("queues"), catalog.declared("calendars"))
    return list(check_rules([(pack.name, f) for f in pack.rule_files], catalog, org).problems)


def _usable(document: JsonDocument, kind: str, problems: list[PackProblem]) -> tuple[Any, tuple[int, ...], frozenset[str]] | None:
    """What of a document can be built despite its problems (which go to ``problems``).

    Returns ``(data, positions, broken field names)`` or None.  So that the
    cross-file checks still run and a consultant gets every error in one pass:
    invalid optional properties are left out (a bad ``"direction"`` of a sort
    key, a misspelt property), and an entity's fields that are still invalid
    then are left out whole; ``positions`` maps the built fields back to their
    place in the file.
    """
    problems.extend(document.problems)
    if document.data is None:
        return None
    found = schema_errors(kind, document.data, document.file)
    problems.extend(problem for _, problem in found)
    data = _without(document.data, [path for path, _ in found]) if found else document.data
    remaining = [path for path, _ in schema_errors(kind, data, document.file)] if found else []
    fields = data.get("fields", []) if kind == "entity" and isinstance(data, dict) else []
    if not remaining:
        return data, tuple(range(len(fields))), frozenset()
    if kind != "entity" or not all(len(p) >= 2 and p[0] == "fields" and isinstance(p[1], int) for p in remaining):
        return None
    bad = {p[1] for p in remaining}
    positions = tuple(i for i in range(len(fields)) if i not in bad)
    names = frozenset(f["name"] for i, f in enumerate(fields) if i in bad and isinstance(f, dict) and isinstance(f.get("name"), str))
    return {**data, "fields": [fields[i] for i in positions]}, positions, names


def _without(data: Any, paths: list[JsonPath]) -> Any:
    """A copy of ``data`` without the object properties at ``paths`` (list items stay, so positions hold)."""
    copy = json.loads(json.dumps(data))
    for path in paths:
        if not path or not isinstance(path[-1], str):
            continue
        parent = copy
        try:
            for part in path[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return copy
