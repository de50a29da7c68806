"""The catalog, cached per process and reloaded when the metadata version moves.

Every app process checks one small row per request, so a pack installed (or,
later, an admin change made) through one process is seen by all of them
without a restart.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from xrm.metadata import store
from xrm.metadata.catalog import Catalog


class CatalogCache:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._version = -1
        self._catalog = Catalog()

    def get(self) -> Catalog:
        """The current catalog, reloaded if the metadata changed since the last call."""
        with self._engine.connect() as connection:
            version = store.current_metadata_version(connection)
            if version == self._version:
                return self._catalog
            catalog = store.load_catalog(connection)
        with self._lock:
            self._catalog, self._version = catalog, version
        return catalog
