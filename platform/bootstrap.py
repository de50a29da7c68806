"""Bringing a database to a usable state: platform tables, then the bundled packs."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from xrm.context import Context, utc_now
from xrm.metadata.installer import InstallResult, PackAlreadyInstalled, install_pack, installed_catalog
from xrm.metadata.loader import read_pack
from xrm.metadata.validation import validate_pack
from xrm.migrate import upgrade
from xrm.runtime.users import add_user
from xrm.system_tables import users

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


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    password: str


def ensure_first_admin(engine: Engine, username: str = "admin") -> FirstAdmin | None:
    """On a database without users, add an administrator so someone can sign in.

    The password is ``XRM_ADMIN_PASSWORD`` when set, else a random one the
    caller shows once.  Returns None when users already exist.
    """
    with engine.begin() as connection:
        if connection.execute(select(func.count()).select_from(users)).scalar_one():
            return None
        password = os.environ.get("XRM_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        add_user(connection, username, now=utc_now(), display_name="Administrator", password=password, is_admin=True)
    return FirstAdmin(username, password)
