"""Layers: pack definitions below, administrators' customizations on top.

Packs store their documents as ``xrm_metadata`` rows with ``layer = 'pack'``.
What an administrator changes is stored beside them as rows with
``layer = 'admin'`` and the same ``kind`` and ``name``, holding an *overlay*;
the catalog is the pack document with its overlay applied, and the overlay
wins wherever both set the same property.  A pack upgrade replaces the pack
rows and keeps the overlays, so customizations survive it.

Entity overlay (``kind = 'entity'``)::

    {
      "entity": {...},                   # a whole entity document: only for entities admins created
      "properties": {"label": "Prospect"},          # entity-level properties (label, plural_label,
                                                    # description, display_field)
      "fields": {                                   # property patches of existing fields, by field name
        "status": {"label": "Lead status", "hidden": true, "required": true, "default": "new",
                   "options": {"new": {"label": "Fresh", "order": 0, "active": false}},
                   "added_options": [{"value": "parked", "label": "Parked"}]}
      },
      "added_fields": [{"name": "score", "type": "integer"}],   # fields admins added (whole documents)
      "order": ["last_name", "score", "company"],   # field order; fields not listed follow in their own order
      "removed": {"fax": {"name": "fax", "type": "phone"}}      # soft-removed fields: gone from the catalog,
                                                                # column and data kept until purged
    }

A patch value ``null`` removes the property (back to its default).  Role
overlay (``kind = 'role'``)::

    {"permissions": {"lead": {"read": true, "update": true, "scope": "all", "hidden_fields": ["email"]},
                     "case": null}}     # a whole permission per entity; null takes the entity away

Other kinds in the admin layer (dashboards, …) are not overlays of this
module: ``overlay_documents`` passes them by.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ADMIN_LAYER = "admin"
#: The pseudo-pack of entities administrators create (it depends on every installed pack).
CUSTOM_PACK = "custom"
#: The kinds this module overlays.
OVERLAID_KINDS = ("entity", "role")
ENTITY_PROPERTIES = ("label", "plural_label", "description", "display_field")
OPTION_PROPERTIES = ("label", "order", "color", "active")

Document = dict[str, Any]


@dataclass(frozen=True)
class StoredDocument:
    """One ``xrm_metadata`` row: its kind, name, pack and JSON definition."""

    kind: str
    name: str
    pack: str
    definition: Mapping[str, Any]


def empty_overlay() -> Document:
    return {}


def _patched(base: Mapping[str, Any], patch: Mapping[str, Any], skip: Iterable[str] = ()) -> Document:
    """``base`` with ``patch`` applied: a value replaces, ``None`` removes the property."""
    result = dict(base)
    for key, value in patch.items():
        if key in skip:
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _patched_options(options: list[Mapping[str, Any]], patch: Mapping[str, Any]) -> list[Document]:
    by_value = patch.get("options") or {}
    result = [_patched(option, by_value.get(option["value"]) or {}) for option in options]
    known = {option["value"] for option in result}
    result += [_patched(o, by_value.get(o["value"]) or {}) for o in patch.get("added_options") or ()
               if o["value"] not in known]
    return result


def patched_field(field: Mapping[str, Any], patch: Mapping[str, Any]) -> Document:
    """A field document with its property patch applied (options merged value by value)."""
    result = _patched(field, patch, skip=("options", "added_options"))
    if "options" in field or patch.get("added_options"):
        result["options"] = _patched_options(list(field.get("options") or ()), patch)
    return result


def effective_entity(pack_document: Mapping[str, Any] | None, overlay: Mapping[str, Any] | None) -> Document | None:
    """The entity document the catalog is built from: the pack's (or the admin's own) with the overlay."""
    overlay = overlay or {}
    base = overlay.get("entity") or pack_document
    if base is None:
        return None
    document = _patched(base, overlay.get("properties") or {}, skip=("name", "fields"))
    removed = set(overlay.get("removed") or ())
    patches = overlay.get("fields") or {}
    fields = [patched_field(f, patches.get(f["name"]) or {}) for f in base["fields"] if f["name"] not in removed]
    names = {f["name"] for f in fields}
    fields += [patched_field(f, patches.get(f["name"]) or {}) for f in overlay.get("added_fields") or ()
               if f["name"] not in removed and f["name"] not in names]
    order = {name: position for position, name in enumerate(overlay.get("order") or ())}
    if order:
        fields.sort(key=lambda f: order.get(f["name"], len(order)))  # stable: unlisted keep their order
    document["fields"] = fields
    return document


def effective_role(pack_document: Mapping[str, Any], overlay: Mapping[str, Any] | None) -> Document:
    """The role document with the overlay's permissions replacing the pack's, entity by entity."""
    document = copy.deepcopy(dict(pack_document))
    permissions = dict(document.get("permissions") or {})
    for entity, permission in ((overlay or {}).get("permissions") or {}).items():
        if permission is None:
            permissions.pop(entity, None)
        else:
            permissions[entity] = copy.deepcopy(permission)
    document["permissions"] = permissions
    return document


def overlay_documents(pack_rows: Iterable[StoredDocument], admin_rows: Iterable[StoredDocument]) -> list[StoredDocument]:
    """The pack documents with the admin overlays applied, then the entities admins created.

    Kinds other than ``OVERLAID_KINDS`` pass through untouched (their admin rows are not ours).
    """
    overlays = {(row.kind, row.name): row for row in admin_rows if row.kind in OVERLAID_KINDS}
    result: list[StoredDocument] = []
    seen: set[tuple[str, str]] = set()
    for row in pack_rows:
        overlay = overlays.get((row.kind, row.name))
        seen.add((row.kind, row.name))
        if overlay is None or row.kind not in OVERLAID_KINDS:
            result.append(row)
        elif row.kind == "entity":
            document = effective_entity(row.definition, overlay.definition)
            if document is not None:
                result.append(StoredDocument(row.kind, row.name, row.pack, document))
        else:
            result.append(StoredDocument(row.kind, row.name, row.pack, effective_role(row.definition, overlay.definition)))
    for key, overlay in overlays.items():
        if key not in seen and key[0] == "entity" and overlay.definition.get("entity"):
            document = effective_entity(None, overlay.definition)
            if document is not None:
                result.append(StoredDocument("entity", overlay.name, overlay.pack, document))
    return result


def removed_fields(overlay: Mapping[str, Any] | None) -> dict[str, Document]:
    """Soft-removed fields of an entity overlay: name → the field document as it was."""
    return dict((overlay or {}).get("removed") or {})


def field_document(pack_document: Mapping[str, Any] | None, overlay: Mapping[str, Any] | None,
                   name: str) -> Document | None:
    """The effective document of field ``name`` (None when the entity has no such field now)."""
    document = effective_entity(pack_document, overlay)
    return next((f for f in (document or {}).get("fields", ()) if f["name"] == name), None)


def is_admin_field(overlay: Mapping[str, Any] | None, name: str) -> bool:
    """True when administrators added field ``name`` (to a pack entity or in an entity of their own)."""
    overlay = overlay or {}
    added = overlay.get("added_fields") or ()
    own = (overlay.get("entity") or {}).get("fields") or ()
    return any(f["name"] == name for f in (*added, *own))
