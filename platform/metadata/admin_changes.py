"""The operations administrators run on metadata: each edits the admin overlays of a ``Workspace``.

An operation (registered in ``OPERATIONS`` by name) reads the current catalog,
refuses what makes no sense (unknown entity or field, a value still in use, a
purge that was not confirmed) and edits the overlays (``xrm.metadata.layers``);
``xrm.metadata.customize.apply_change`` then checks, applies and records the
result.  Nothing here touches tables.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

from sqlalchemy import Connection

from xrm.context import Context
from xrm.errors import XrmError
from xrm.metadata import admin_store
from xrm.metadata.catalog import Catalog
from xrm.metadata.layer_checks import schema_problems
from xrm.metadata.layers import CUSTOM_PACK, ENTITY_PROPERTIES, OPTION_PROPERTIES, field_document, is_admin_field
from xrm.metadata.problems import PackProblem
from xrm.metadata.schema_changes import live_columns
from xrm.metadata.schema_changes import Offending
from xrm.metadata.schema_checks import value_use
from xrm.metadata.schemas import schema_errors

FIELD_PROPERTIES = frozenset({"label", "description", "help_text", "hidden", "required", "unique", "indexed",
                              "read_only", "default", "type", "max_length", "precision", "scale", "currency_code",
                              "format", "expression", "returns"})
PERMISSION_KEYS = frozenset({"create", "read", "update", "delete", "scope", "hidden_fields", "read_only_fields"})


class MetaRefused(XrmError):
    status, title = 422, "Invalid change"

    def __init__(self, detail: str, problems: tuple[PackProblem, ...] = (), offending: tuple[Offending, ...] = ()) -> None:
        super().__init__(detail)
        self.detail, self.problems, self.offending = detail, problems, offending


class MetaInvalid(MetaRefused):
    """The change breaks the metadata (a check like a pack's failed)."""


class MetaNotFound(MetaRefused):
    status, title = 404, "Not found"


class MetaConflict(MetaRefused):
    """The stored records do not allow the change (duplicates, empty rows, values in use…)."""

    status, title = 409, "Conflict"


@dataclass(frozen=True)
class MetaChange:
    """One admin operation: ``operation`` names it, ``entity`` / ``field`` / ``role`` say on what, ``values`` how."""

    operation: str
    entity: str | None = None
    field: str | None = None
    role: str | None = None
    values: Mapping[str, Any] = dataclass_field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in {"operation": self.operation, "entity": self.entity, "field": self.field,
                                  "role": self.role, "values": dict(self.values)}.items() if v not in (None, {})}


class Workspace:
    """The overlays an operation edits, and what the table change needs to know (renames, purges, restores)."""

    def __init__(self, connection: Connection, catalog: Catalog, context: Context) -> None:
        self.connection, self.catalog, self.context = connection, catalog, context
        self.overlays: dict[tuple[str, str], dict[str, Any]] = {}
        self.packs: dict[tuple[str, str], str] = {}
        self.purge: list[str] = []

    def entity(self, name: str | None) -> Any:
        entity = self.catalog.entities.get(name or "")
        if entity is None or entity.pack == "platform":
            raise MetaNotFound(f"there is no entity '{name}' that administrators may change")
        return entity

    def overlay(self, kind: str, name: str, pack: str) -> dict[str, Any]:
        key = (kind, name)
        if key not in self.overlays:
            stored = admin_store.overlay(self.connection, kind, name)
            self.overlays[key] = copy.deepcopy(dict(stored.definition)) if stored else {}
            self.packs[key] = pack
        return self.overlays[key]

    def entity_overlay(self, name: str | None) -> dict[str, Any]:
        entity = self.entity(name)
        return self.overlay("entity", entity.name, entity.pack)

    def field_patch(self, entity: str | None, name: str | None) -> dict[str, Any]:
        found = self.entity(entity)
        if found.field(name or "") is None:
            raise MetaNotFound(f"entity '{found.name}' has no field '{name}'")
        return self.entity_overlay(entity).setdefault("fields", {}).setdefault(name, {})

    def field_patch_of_removed(self, entity: str | None, name: str | None) -> dict[str, Any]:
        return self.entity_overlay(entity).setdefault("fields", {}).setdefault(name, {})

    def field_document(self, entity: str, name: str) -> dict[str, Any] | None:
        """The effective document of a field (the pack's with the overlay being edited)."""
        base = admin_store.pack_document(self.connection, "entity", entity)
        return field_document(base.definition if base else None, self.overlays.get(("entity", entity)), name)

    def save(self) -> None:
        for (kind, name), definition in self.overlays.items():
            admin_store.save_overlay(self.connection, kind, name, self.packs[(kind, name)], definition, self.context)


Operation = Callable[[Workspace, MetaChange], None]
OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(function: Operation) -> Operation:
        assert name not in OPERATIONS, f"operation {name} registered twice"
        OPERATIONS[name] = function
        return function
    return register


def _refuse_unknown(values: Mapping[str, Any], allowed: frozenset[str] | tuple[str, ...], what: str) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise MetaInvalid(f"{what} cannot change {', '.join(unknown)}", (
            PackProblem("request", f"'{key}' cannot be changed here", path=f"$.{key}",
                        expected="one of " + ", ".join(sorted(allowed))) for key in unknown))


def _taken(ws: Workspace, table: str) -> bool:
    return table in set(ws.connection.dialect.get_table_names(ws.connection))


@operation("create_entity")
def create_entity(ws: Workspace, change: MetaChange) -> None:
    document = dict(change.values)
    name = document.get("name")
    if not isinstance(name, str) or name in ws.catalog.entities or _taken(ws, name):
        raise MetaInvalid(f"an entity or table '{name}' exists already" if isinstance(name, str) else "name the entity",
                          (PackProblem("request", "the entity needs a new name", path="$.name", found=str(name)),))
    document.setdefault("fields", [{"name": "name", "type": "text", "required": True, "label": "Name"}])
    refuse_errors(schema_problems([document]))
    admin_store.ensure_custom_pack(ws.connection, ws.context)
    ws.overlays[("entity", name)] = {"entity": document}
    ws.packs[("entity", name)] = CUSTOM_PACK


@operation("update_entity")
def update_entity(ws: Workspace, change: MetaChange) -> None:
    values = dict(change.values)
    order = values.pop("order", None)
    _refuse_unknown(values, ENTITY_PROPERTIES, "an entity change")
    overlay = ws.entity_overlay(change.entity)
    overlay.setdefault("properties", {}).update(values)
    if order is not None:
        names = set(ws.entity(change.entity).field_names)
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order) or sorted(order) != sorted(names):
            raise MetaInvalid("'order' must list every field of the entity once",
                              (PackProblem("request", "not every field, or unknown fields", path="$.order",
                                           expected=", ".join(sorted(names))),))
        overlay["order"] = order


@operation("add_field")
def add_field(ws: Workspace, change: MetaChange) -> None:
    document = dict(change.values)
    name = document.get("name")
    entity = ws.entity(change.entity)
    overlay = ws.entity_overlay(change.entity)
    if name in (overlay.get("removed") or {}):
        raise MetaConflict(f"'{name}' is a removed field of {entity.name} whose data is kept: restore it, or purge "
                           "it before adding a new field of that name")
    file, at = f"entities/{entity.name}.json", f"$.fields[{len(entity.fields)}]"  # where the new field goes
    if entity.field(name) is not None or (isinstance(name, str) and name in live_columns(ws.connection, entity.table_name)):
        raise MetaInvalid(f"entity '{entity.name}' already has a field or column '{name}'",
                          (PackProblem(file, "the field needs a new name", path=f"{at}.name", found=str(name)),))
    refuse_errors([replace(p, path=at + (p.path or "$")[1:]) for _, p in schema_errors("field", document, file)])
    overlay.setdefault("added_fields", []).append(document)


@operation("update_field")
def update_field(ws: Workspace, change: MetaChange) -> None:
    _refuse_unknown(change.values, FIELD_PROPERTIES, "a field change")
    patch = ws.field_patch(change.entity, change.field)
    for key, value in change.values.items():
        patch[key] = value
    if "type" in change.values and not is_admin_field(ws.entity_overlay(change.entity), change.field or ""):
        raise MetaInvalid("the type of a pack's field is the pack's to change (in its next version)")


@operation("remove_field")
def remove_field(ws: Workspace, change: MetaChange) -> None:
    """Soft removal: the field leaves the catalog; its column and data stay until purged."""
    entity = ws.entity(change.entity)
    current = entity.field(change.field or "")
    if current is None:
        raise MetaNotFound(f"entity '{entity.name}' has no field '{change.field}'")
    if entity.display_field == current.name:
        raise MetaInvalid(f"'{current.name}' names the records of {entity.name}: choose another display field first")
    overlay = ws.entity_overlay(change.entity)
    overlay.setdefault("removed", {})[current.name] = ws.field_document(entity.name, current.name)


@operation("restore_field")
def restore_field(ws: Workspace, change: MetaChange) -> None:
    overlay = ws.entity_overlay(change.entity)
    if change.field not in (overlay.get("removed") or {}):
        raise MetaNotFound(f"'{change.field}' is not a removed field of {change.entity}")
    document = overlay["removed"].pop(change.field)
    if ws.field_document(ws.entity(change.entity).name, change.field or "") is None:
        overlay.setdefault("added_fields", []).append(document)  # the pack dropped it: it comes back as the admin's
    _refuse_unknown(change.values, FIELD_PROPERTIES - {"type"}, "a restore")
    if change.values:  # e.g. {"required": false} when records made meanwhile have no value
        ws.field_patch_of_removed(change.entity, change.field).update(change.values)


@operation("purge_field")
def purge_field(ws: Workspace, change: MetaChange) -> None:
    """Drop the column of a removed field, and its data: only after ``remove_field``, and named twice."""
    overlay = ws.entity_overlay(change.entity)
    removed = overlay.get("removed") or {}
    if change.field not in removed:
        raise MetaConflict(f"'{change.field}' is not a removed field of {change.entity}: remove it first "
                           "(its data is kept), then purge it")
    if change.values.get("confirm") != change.field:
        raise MetaInvalid("purging deletes the data for good: confirm with the field's name",
                          (PackProblem("request", "confirm the purge", path="$.confirm", expected=change.field),))
    del removed[change.field]
    for key in ("fields",):
        (overlay.get(key) or {}).pop(change.field, None)
    overlay["added_fields"] = [f for f in overlay.get("added_fields") or () if f["name"] != change.field]
    if overlay.get("entity"):
        overlay["entity"]["fields"] = [f for f in overlay["entity"]["fields"] if f["name"] != change.field]
    if overlay.get("order"):
        overlay["order"] = [n for n in overlay["order"] if n != change.field]
    ws.purge.append(change.field or "")


def _options_patch(ws: Workspace, change: MetaChange) -> tuple[Any, dict[str, Any]]:
    entity = ws.entity(change.entity)
    current = entity.field(change.field or "")
    if current is None:
        raise MetaNotFound(f"entity '{entity.name}' has no field '{change.field}'")
    if not current.options and current.type not in ("picklist", "multi_picklist"):
        raise MetaInvalid(f"'{current.name}' is a {current.type} field, not a picklist")
    return current, ws.field_patch(change.entity, change.field)


@operation("add_option")
def add_option(ws: Workspace, change: MetaChange) -> None:
    current, patch = _options_patch(ws, change)
    value = change.values.get("value")
    if current.option(value) is not None:
        raise MetaInvalid(f"'{current.name}' already has the value '{value}'")
    _refuse_unknown(change.values, ("value", *OPTION_PROPERTIES), "an option")
    option = dict(change.values)
    option.setdefault("order", max((o.order for o in current.options), default=-1) + 1)
    patch.setdefault("added_options", []).append(option)


@operation("update_option")
def update_option(ws: Workspace, change: MetaChange) -> None:
    current, patch = _options_patch(ws, change)
    value = change.values.get("value")
    if current.option(value) is None:
        raise MetaNotFound(f"'{current.name}' has no value '{value}'")
    values = {k: v for k, v in change.values.items() if k != "value"}
    _refuse_unknown(values, OPTION_PROPERTIES, "an option")
    patch.setdefault("options", {}).setdefault(value, {}).update(values)


@operation("reorder_options")
def reorder_options(ws: Workspace, change: MetaChange) -> None:
    current, patch = _options_patch(ws, change)
    values = change.values.get("values")
    if (not isinstance(values, list) or not all(isinstance(v, str) for v in values)
            or sorted(values) != sorted(o.value for o in current.options)):
        raise MetaInvalid("'values' must list every value of the picklist once")
    for position, value in enumerate(values):
        patch.setdefault("options", {}).setdefault(value, {})["order"] = position


@operation("remove_option")
def remove_option(ws: Workspace, change: MetaChange) -> None:
    """Only a value admins added and no record uses goes; others are deactivated (``update_option``)."""
    current, patch = _options_patch(ws, change)
    value = change.values.get("value")
    added = [o for o in patch.get("added_options") or () if o["value"] == value]
    if not added:
        raise MetaConflict(f"'{value}' comes from the pack: deactivate it instead (active: false)")
    count, sample = value_use(ws.connection, ws.entity(change.entity), current, value)
    if count:
        raise MetaConflict(f"{count} records hold '{value}': deactivate it instead, or change them first",
                           offending=(Offending(change.entity or "", (current.name,), "in_use",
                                               f"{count} records hold '{value}'", count, sample),))
    patch["added_options"] = [o for o in patch["added_options"] if o["value"] != value]
    (patch.get("options") or {}).pop(value, None)


@operation("grant")
def grant(ws: Workspace, change: MetaChange) -> None:
    """Give a role a whole permission on an entity (create/read/update/delete, scope, hidden and read-only fields)."""
    role = ws.catalog.roles.get(change.role or "")
    if role is None:
        raise MetaNotFound(f"there is no role '{change.role}'")
    ws.entity(change.entity)
    _refuse_unknown(change.values, PERMISSION_KEYS, "a permission")
    overlay = ws.overlay("role", role.name, ws.catalog.owner("role", role.name) or "")
    overlay.setdefault("permissions", {})[change.entity] = dict(change.values)


@operation("revoke")
def revoke(ws: Workspace, change: MetaChange) -> None:
    role = ws.catalog.roles.get(change.role or "")
    if role is None:
        raise MetaNotFound(f"there is no role '{change.role}'")
    overlay = ws.overlay("role", role.name, ws.catalog.owner("role", role.name) or "")
    overlay.setdefault("permissions", {})[change.entity] = None



def refuse_errors(problems: list[PackProblem]) -> None:
    errors = tuple(p for p in problems if p.severity == "error")
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise MetaInvalid(f"the change is refused: {errors[0]}{more}", errors)
