"""Reading and writing metadata documents by layer (see ``xrm.metadata.layers`` for the overlay format)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from xrm.context import Context
from xrm.metadata.layers import ADMIN_LAYER, CUSTOM_PACK, StoredDocument
from xrm.system_tables import metadata_documents, packs

PACK_LAYER = "pack"
_t = metadata_documents


def stored_documents(connection: Connection, layer: str, kinds: Iterable[str] | None,
                     pack: str | None = None) -> list[StoredDocument]:
    """The documents of ``layer`` of the given kinds (all with None; of one pack when ``pack`` is given)."""
    query = select(_t.c.kind, _t.c.name, _t.c.pack, _t.c.definition).where(_t.c.layer == layer)
    if kinds is not None:
        query = query.where(_t.c.kind.in_(list(kinds)))
    if pack is not None:
        query = query.where(_t.c.pack == pack)
    return [StoredDocument(*row) for row in connection.execute(query.order_by(_t.c.id))]


def overlay(connection: Connection, kind: str, name: str) -> StoredDocument | None:
    """The admin overlay of one document, if admins changed it."""
    row = connection.execute(select(_t.c.kind, _t.c.name, _t.c.pack, _t.c.definition).where(
        _t.c.layer == ADMIN_LAYER, _t.c.kind == kind, _t.c.name == name)).first()
    return StoredDocument(*row) if row else None


def pack_document(connection: Connection, kind: str, name: str) -> StoredDocument | None:
    row = connection.execute(select(_t.c.kind, _t.c.name, _t.c.pack, _t.c.definition).where(
        _t.c.layer == PACK_LAYER, _t.c.kind == kind, _t.c.name == name)).first()
    return StoredDocument(*row) if row else None


def save_overlay(connection: Connection, kind: str, name: str, pack: str, definition: Mapping[str, Any],
                 context: Context) -> None:
    """Insert or replace the admin overlay of one document (an empty one is deleted)."""
    where = (_t.c.layer == ADMIN_LAYER) & (_t.c.kind == kind) & (_t.c.name == name)
    if not definition:
        connection.execute(delete(_t).where(where))
        return
    changed = connection.execute(update(_t).where(where).values(
        definition=dict(definition), pack=pack, updated_at=context.now)).rowcount
    if not changed:
        connection.execute(insert(_t).values(kind=kind, name=name, pack=pack, layer=ADMIN_LAYER,
                                             definition=dict(definition), updated_at=context.now))


def delete_pack_layer(connection: Connection, pack: str) -> None:
    """Remove a pack's own documents (an upgrade then stores the new version's)."""
    connection.execute(delete(_t).where(_t.c.layer == PACK_LAYER, _t.c.pack == pack))


def ensure_custom_pack(connection: Connection, context: Context) -> None:
    """The row of the pseudo-pack that owns admin-created entities (created with the first one)."""
    if connection.execute(select(packs.c.name).where(packs.c.name == CUSTOM_PACK)).first() is None:
        connection.execute(insert(packs).values(
            name=CUSTOM_PACK, version="1.0", label="Custom", description="Entities created by administrators",
            manifest={"name": CUSTOM_PACK, "version": "1.0", "label": "Custom"},
            installed_at=context.now, installed_by=context.actor.name, updated_at=context.now))
