"""Bringing a database to a usable state: platform tables, then the bundled packs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from xrm.context import Context
from xrm.metadata.installer import InstallResult, PackAlreadyInstalled, install_pack, installed_catalog
from xrm.metadata.loader import read_pack
from xrm.metadata.validation import validate_pack
from xrm.migrate import upgrade

#: The packs shipped with the platform, in dependency order.
BUNDLED_PACKS = ("crm", "service", "partners")


def bundled_pack_dirs(packs_root: Path) -> list[Path]:
    return [packs_root / name for name in BUNDLED_PACKS]


def prepare_database(engine: Engine, pack_dirs: Sequence[Path], context: Context) -> list[InstallResult]:
    """Migrate the platform tables and install each pack that is not installed yet.

    Every missing pack is validated (against the ones before it) before the
    first is installed, so one broken pack does not leave the others half set up.
    """
    upgrade(engine)
    catalog = installed_catalog(engine)
    missing = []
    for pack_dir in pack_dirs:
        manifest = read_pack(pack_dir).manifest
        name = manifest.data.get("name") if manifest and isinstance(manifest.data, dict) else None
        if name in catalog.packs:
            continue
        catalog = catalog.with_pack(validate_pack(pack_dir, catalog).raise_for_errors())
        missing.append(pack_dir)
    results = []
    for pack_dir in missing:
        try:
            results.append(install_pack(engine, pack_dir, context))
        except PackAlreadyInstalled:
            continue  # another process starting at the same time installed it first
    return results
