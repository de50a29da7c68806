"""Installed metadata in the database: write a pack's documents, read the catalog back.

The runtime reads metadata from here, never from pack folders.  Admin
customizations are a layer on top of the pack layer (``xrm.metadata.layers``):
``load_catalog`` builds each entity and role from its pack document with the
admin overlay applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from xrm.context import Context
from xrm.metadata.admin_store import stored_documents
from xrm.metadata.builder import build_entity, build_role, build_view, build_workflow
from xrm.metadata.catalog import OWNED_KINDS, Catalog, InstalledPack
from xrm.metadata.dashboard_store import load_dashboards
from xrm.metadata.layers import ADMIN_LAYER, OVERLAID_KINDS, overlay_documents
from xrm.metadata.loader import PackSource
from xrm.metadata.model import Pack, RuleFile
from xrm.metadata.org import platform_catalog
from xrm.metadata.schema_sync import AppliedOperation
from xrm.system_tables import metadata_documents, metadata_version, packs, schema_history

PACK_LAYER = "pack"


def save_pack(connection: Connection, pack: Pack, source: PackSource, context: Context) -> None:
    """Record ``pack`` as installed, with every document it declares (pack layer)."""
    manifest = source.manifest.data if source.manifest else {}
    connection.execute(insert(packs).values(
        name=pack.name, version=pack.version, label=pack.label, description=pack.description,
        manifest=manifest, installed_at=context.now, installed_by=context.actor.name, updated_at=context.now,
    ))
    save_pack_documents(connection, pack, source, context)


def save_pack_documents(connection: Connection, pack: Pack, source: PackSource, context: Context) -> None:
    """Store the documents ``pack`` declares as its pack layer (an upgrade deletes the old ones first)."""
    rows = [
        {"kind": kind, "name": document.data["name"], "definition": document.data}
        for kind, document in source.documents
    ] + [
        # rule files are named per pack: two packs may both have rules/main.rules
        {"kind": "rule_file", "name": f"{pack.name}/{rule_file.path}",
         "definition": {"path": rule_file.path, "text": rule_file.text}}
        for rule_file in pack.rule_files
    ]
    if rows:
        connection.execute(insert(metadata_documents), [
            {**row, "pack": pack.name, "layer": PACK_LAYER, "updated_at": context.now} for row in rows
        ])


def record_history(connection: Connection, pack: Pack, operations: Iterable[AppliedOperation], context: Context) -> None:
    """Append the applied schema operations to the schema history."""
    rows = [
        {"pack": pack.name, "pack_version": pack.version, "operation": op.operation, "target": op.target,
         "detail": dict(op.detail), "applied_at": context.now, "applied_by": context.actor.name}
        for op in operations
    ]
    if rows:
        connection.execute(insert(schema_history), rows)


def bump_metadata_version(connection: Connection) -> int:
    """Increase the metadata version that app processes compare to know when to reload.

    One UPDATE ... RETURNING, so concurrent changes each get their own number
    (the row is seeded by the platform migrations).
    """
    statement = (
        update(metadata_version).where(metadata_version.c.id == 1)
        .values(version=metadata_version.c.version + 1).returning(metadata_version.c.version)
    )
    return connection.execute(statement).scalar_one()


def current_metadata_version(connection: Connection, *, hold: bool = False) -> int:
    """The metadata version; ``hold`` keeps a shared lock on it until the transaction ends (PostgreSQL),
    so a metadata change (which bumps it first) waits for this transaction, and the next one for the change."""
    query = select(metadata_version.c.version).where(metadata_version.c.id == 1)
    if hold and connection.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return connection.execute(query).scalar() or 0


_BUILDERS: dict[str, Any] = {"view": build_view, "workflow": build_workflow, "role": build_role}


def load_catalog(connection: Connection) -> Catalog:
    """Everything installed, built from the stored documents."""
    installed = {
        row.name: InstalledPack(row.name, row.version, row.label, row.description, row.installed_at,
                                organization=(row.manifest or {}).get("organization") or {})
        for row in connection.execute(select(packs).order_by(packs.c.installed_at, packs.c.name))
    }
    found: dict[str, dict[str, Any]] = {"entity": {}, "view": {}, "workflow": {}, "role": {}}
    owners: dict[tuple[str, str], str] = {}
    documents = overlay_documents(stored_documents(connection, PACK_LAYER, found),
                                  stored_documents(connection, ADMIN_LAYER, OVERLAID_KINDS))
    for kind, _name, pack_name, definition in ((d.kind, d.name, d.pack, d.definition) for d in documents):
        if kind == "entity":
            built = build_entity(definition, pack_name)
        else:
            built = _BUILDERS[kind](definition)
        found[kind][built.name] = built
        if kind in OWNED_KINDS:
            owners[(kind, built.name)] = pack_name
    rule_files = {
        name: RuleFile(definition["path"], definition["text"])
        for name, definition in connection.execute(
            select(metadata_documents.c.name, metadata_documents.c.definition)
            .where(metadata_documents.c.layer == PACK_LAYER, metadata_documents.c.kind == "rule_file")
            .order_by(metadata_documents.c.id))
    }
    base = platform_catalog()
    dashboards, dashboard_owners = load_dashboards(connection)
    return Catalog(
        packs={**base.packs, **installed}, entities={**base.entities, **found["entity"]}, views=found["view"],
        workflows=found["workflow"], roles=found["role"], owners={**owners, **dashboard_owners}, rule_files=rule_files,
        dashboards=dashboards,
    )
