"""The plan of a pack upgrade, as data: what changes, how many records each change touches, what is in the way.

``UpgradePlan`` is what ``xrm pack plan`` prints, ``POST /api/meta/packs/plan``
answers (``to_json()``) and ``xrm pack upgrade`` carries out.  This module
also holds the pure parts of planning: carrying the admin layer over to the
new version (``rebase_entity_overlay``, ``rebase_role_overlay``), each
customization the new version also touches reported as a ``Conflict`` with
its resolution, and the differences between the two versions' documents.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from xrm.metadata.layers import StoredDocument
from xrm.metadata.problems import PackProblem
from xrm.metadata.schema_changes import Offending

ADMIN_WINS = "the administrator's value is kept"


@dataclass(frozen=True)
class FieldLine:
    """One field change: ``added``, ``renamed`` (from ``old_name``), ``removed`` (column and data kept),
    ``retyped``, ``required``, ``optional``; ``rows`` = records holding a value the change touches."""

    entity: str
    field: str
    change: str
    type: str | None = None
    old_name: str | None = None
    old_type: str | None = None
    rows: int | None = None
    detail: str | None = None


@dataclass(frozen=True)
class ConstraintLine:
    entity: str
    kind: str  # unique | index
    name: str
    fields: tuple[str, ...]
    change: str  # added | dropped
    violations: int = 0


@dataclass(frozen=True)
class OptionLine:
    entity: str
    field: str
    value: str
    change: str  # added | removed | kept_inactive | relabelled
    rows: int = 0
    detail: str | None = None


@dataclass(frozen=True)
class ObjectLine:
    """A view, workflow, role, dashboard or rule file (``kind``) ``added``, ``changed`` or ``removed``."""

    kind: str
    name: str
    change: str
    detail: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A customization the new version also touches, and how the upgrade resolves it."""

    kind: str  # entity | field | option | role
    name: str
    property: str | None
    admin_value: Any
    pack_value: Any
    resolution: str
    blocking: bool = False


@dataclass(frozen=True)
class UpgradePlan:
    pack: str
    from_version: str
    to_version: str
    entities_added: tuple[str, ...] = ()
    entities_removed: tuple[tuple[str, int], ...] = ()  # (entity, records kept in its table)
    entities_renamed: tuple[tuple[str, str, int], ...] = ()  # (old name, new name, records moved with the table)
    fields: tuple[FieldLine, ...] = ()
    constraints: tuple[ConstraintLine, ...] = ()
    options: tuple[OptionLine, ...] = ()
    objects: tuple[ObjectLine, ...] = ()
    rules_added: tuple[str, ...] = ()
    rules_removed: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[PackProblem, ...] = ()
    offending: tuple[Offending, ...] = ()
    operations: tuple[Mapping[str, Any], ...] = ()  # the schema operations, as the history records them
    rows: Mapping[str, int] | None = None  # records per entity of the pack before the upgrade

    @property
    def errors(self) -> tuple[PackProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        """True when the upgrade can be applied."""
        return not self.errors and not self.offending and not any(c.blocking for c in self.conflicts)

    def fields_where(self, change: str) -> tuple[FieldLine, ...]:
        return tuple(f for f in self.fields if f.change == change)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [{k: v for k, v in asdict(p).items() if v is not None} for p in self.problems]
        data["offending"] = [o.to_json() for o in self.offending]
        data["conflicts"] = [{**asdict(c), "admin_value": _plain(c.admin_value), "pack_value": _plain(c.pack_value)}
                             for c in self.conflicts]
        data["operations"] = [dict(o) for o in self.operations]
        data["rows"] = dict(self.rows or {})
        data["ok"] = self.ok
        return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


# -- renames ------------------------------------------------------------------------------------------


def declared_renames(document: Mapping[str, Any]) -> dict[str, str]:
    """``new field name → old name`` from the ``renamed_from`` of an entity document's fields."""
    return {f["name"]: f["renamed_from"] for f in document.get("fields", ()) if f.get("renamed_from")}


def _fields(document: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {f["name"]: f for f in (document or {}).get("fields", ())}


# -- carrying the admin layer over --------------------------------------------------------------------


def rebase_entity_overlay(name: str, overlay: Mapping[str, Any], old: Mapping[str, Any] | None,
                          new: Mapping[str, Any] | None, renames: Mapping[str, str]) -> tuple[dict[str, Any], list[Conflict]]:
    """The entity overlay for the new pack document, and each customization the new version also touches."""
    result = copy.deepcopy(dict(overlay))
    conflicts: list[Conflict] = []
    if new is None:
        if old is not None and overlay:
            conflicts.append(Conflict("entity", name, None, None, None,
                                      "the pack removes the entity: its table and records are kept, its "
                                      "customizations stay stored but unused"))
        return result, conflicts
    back = {old_name: new_name for new_name, old_name in renames.items()}
    old_fields, new_fields = _fields(old), _fields(new)
    for key, value in (overlay.get("properties") or {}).items():
        if (old or {}).get(key) != new.get(key):
            conflicts.append(Conflict("entity", name, key, value, new.get(key), ADMIN_WINS))
    patches: dict[str, Any] = {}
    for field_name, patch in (overlay.get("fields") or {}).items():
        target = back.get(field_name, field_name)
        was, now = old_fields.get(field_name), new_fields.get(target)
        if now is None:
            if was is not None:
                conflicts.append(Conflict("field", f"{name}.{field_name}", None, patch, None,
                                          "the pack removes the field: its column and data are kept (soft "
                                          "removal), the customization goes with it"))
                continue
            patches[target] = patch  # an admin field's own patch
            continue
        patches[target] = _rebase_field_patch(f"{name}.{target}", patch, was or {}, now, conflicts)
    added = []
    for field in overlay.get("added_fields") or ():
        now = new_fields.get(field["name"])
        if now is None:
            added.append(field)
        elif now.get("type") != field.get("type"):
            conflicts.append(Conflict("field", f"{name}.{field['name']}", "type", field.get("type"), now.get("type"),
                                      "refused: the pack adds a field of that name with another type; rename or "
                                      "remove the administrator's field first", blocking=True))
            added.append(field)
        else:
            own = {k: v for k, v in field.items() if k not in ("name", "type", "options") and now.get(k) != v}
            patches[field["name"]] = {**own, **patches.get(field["name"], {})}
            conflicts.append(Conflict("field", f"{name}.{field['name']}", None, field.get("type"), now.get("type"),
                                      "the pack now declares the administrator's field: its column and data are "
                                      "kept, properties that differ stay as customizations"))
    result["fields"] = {k: v for k, v in patches.items() if v}
    result["added_fields"] = added
    if overlay.get("order"):
        result["order"] = [back.get(n, n) for n in overlay["order"]]
    removed = {}
    for field_name, document in (overlay.get("removed") or {}).items():
        target = back.get(field_name, field_name)
        removed[target] = {**document, "name": target}
        if target in new_fields and new_fields[target] != old_fields.get(field_name):
            conflicts.append(Conflict("field", f"{name}.{target}", "removed", True, None,
                                      "the administrator removed the field: it stays removed (data kept)"))
    result["removed"] = removed
    return {k: v for k, v in result.items() if v not in ({}, [], None)}, conflicts


def _rebase_field_patch(where: str, patch: Mapping[str, Any], was: Mapping[str, Any], now: Mapping[str, Any],
                        conflicts: list[Conflict]) -> dict[str, Any]:
    result = dict(patch)
    for key, value in patch.items():
        if key in ("options", "added_options"):
            continue
        if was.get(key) != now.get(key):
            conflicts.append(Conflict("field", where, key, value, now.get(key), ADMIN_WINS))
    old_options = {o["value"]: o for o in was.get("options", ())}
    new_options = {o["value"]: o for o in now.get("options", ())}
    kept = {}
    for value, option_patch in (patch.get("options") or {}).items():
        if value not in new_options and value in old_options:
            continue  # the pack drops the value; the upgrade decides what happens to its records
        for key, admin in option_patch.items():
            if old_options.get(value, {}).get(key) != new_options.get(value, {}).get(key):
                conflicts.append(Conflict("option", f"{where}={value}", key, admin, new_options.get(value, {}).get(key),
                                          ADMIN_WINS))
        kept[value] = option_patch
    result["options"] = kept
    added = []
    for option in patch.get("added_options") or ():
        if option["value"] in new_options:
            conflicts.append(Conflict("option", f"{where}={option['value']}", None, option.get("label"),
                                      new_options[option["value"]].get("label"),
                                      "the pack now declares the administrator's value; the administrator's "
                                      "label and order are kept"))
            kept.setdefault(option["value"], {}).update({k: v for k, v in option.items() if k != "value"})
        else:
            added.append(option)
    result["added_options"] = added
    return {k: v for k, v in result.items() if v not in ({}, [])}


def rebase_role_overlay(name: str, overlay: Mapping[str, Any], old: Mapping[str, Any] | None,
                        new: Mapping[str, Any] | None,
                        renames: Mapping[str, Mapping[str, str]]) -> tuple[dict[str, Any], list[Conflict]]:
    """The role overlay for the new pack document; field names follow renames of the upgraded pack's entities."""
    conflicts: list[Conflict] = []
    if new is None and old is not None:
        return {}, [Conflict("role", name, None, overlay.get("permissions"), None,
                             "the pack removes the role: its customizations go with it")]
    permissions = {}
    for entity, permission in (overlay.get("permissions") or {}).items():
        if permission is not None and entity in renames:
            back = {o: n for n, o in renames[entity].items()}
            permission = {**permission, **{key: [back.get(f, f) for f in permission.get(key, ())]
                                           for key in ("hidden_fields", "read_only_fields") if key in permission}}
        old_permission = ((old or {}).get("permissions") or {}).get(entity)
        new_permission = ((new or {}).get("permissions") or {}).get(entity)
        if old is not None and old_permission != new_permission:
            conflicts.append(Conflict("role", f"{name}.{entity}", "permissions", permission, new_permission, ADMIN_WINS))
        permissions[entity] = permission
    return ({"permissions": permissions} if permissions else {}), conflicts


# -- documents and rules compared ---------------------------------------------------------------------


def object_lines(old: Iterable[StoredDocument], new: Iterable[StoredDocument], kinds: Iterable[str]) -> list[ObjectLine]:
    """Views, workflows, roles, dashboards and rule files added, changed or removed by the new version."""
    wanted = set(kinds)
    before = {(d.kind, d.name): d.definition for d in old if d.kind in wanted}
    after = {(d.kind, d.name): d.definition for d in new if d.kind in wanted}
    lines = [ObjectLine(k, n, "added") for (k, n) in after if (k, n) not in before]
    lines += [ObjectLine(k, n, "changed") for (k, n), d in after.items() if (k, n) in before and before[(k, n)] != d]
    lines += [ObjectLine(k, n, "removed") for (k, n) in before if (k, n) not in after]
    return sorted(lines, key=lambda line: (line.kind, line.name))


def rule_names(files: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of the rules in rule file documents (``{path, text}``); files that do not parse name none."""
    from xrm.rules.parser import RuleSyntaxError, parse_rules

    names: set[str] = set()
    for document in files:
        try:
            names |= {rule.name for rule in parse_rules(document["path"], document["text"]).rules}
        except RuleSyntaxError:
            continue
    return names
