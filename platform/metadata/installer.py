"""Installing a pack: validate against what is installed, create its tables, store its metadata.

Everything happens in one transaction.  PostgreSQL's DDL is transactional;
SQLite's is too once the driver stops managing transactions itself (see
``xrm.db._make_sqlite_transactional``), so on both a failure anywhere — a
constraint, a bug, a crash before commit — leaves the database as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from xrm.context import Context
from xrm.db import lock_schema
from xrm.errors import XrmError
from xrm.metadata import store
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import Pack
from xrm.metadata.org import platform_catalog
from xrm.metadata.schema_sync import AppliedOperation, create_entity_tables
from xrm.metadata.validation import PackReport, validate_pack
from xrm.migrate import current_revision, head_revision


class NotMigrated(XrmError):
    def __init__(self) -> None:
        super().__init__("the database is not set up for this version of the platform: run `xrm migrate` first")


class PackAlreadyInstalled(XrmError):
    def __init__(self, name: str, version: str) -> None:
        super().__init__(
            f"pack '{name}' {version} is already installed: see what a new version changes with `xrm pack plan PATH`, "
            "apply it with `xrm pack upgrade PATH`"
        )
        self.name = name


@dataclass(frozen=True)
class InstallResult:
    pack: Pack
    operations: tuple[AppliedOperation, ...]
    report: PackReport


def ensure_migrated(engine: Engine) -> None:
    if current_revision(engine) != head_revision():
        raise NotMigrated()


def installed_catalog(engine: Engine) -> Catalog:
    """The catalog of the database behind ``engine`` (empty when it was never migrated)."""
    if current_revision(engine) is None:
        return platform_catalog()
    with engine.connect() as connection:
        return store.load_catalog(connection)


def install_pack(engine: Engine, root: Path, context: Context) -> InstallResult:
    """Install the pack at ``root``; raises ``PackInvalid`` (nothing installed) when it has errors."""
    ensure_migrated(engine)
    with engine.begin() as connection:
        lock_schema(connection)  # one install at a time, whichever process asks
        catalog = store.load_catalog(connection)
        report = validate_pack(root, catalog)
        pack = report.raise_for_errors()
        if pack.name in catalog.packs:
            raise PackAlreadyInstalled(pack.name, catalog.packs[pack.name].version)
        operations = create_entity_tables(connection, pack.entities)
        store.save_pack(connection, pack, report.source, context)
        from xrm.runtime.pack_organization import ensure_organization  # the runtime writes records

        ensure_organization(connection, pack, catalog.with_pack(pack), context)
        store.record_history(connection, pack, operations, context)
        store.bump_metadata_version(connection)
    return InstallResult(pack, tuple(operations), report)
