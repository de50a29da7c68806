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
        #: (metadata version, catalog), replaced whole and only by a newer version
        self._current: tuple[int, Catalog] = (-1, Catalog())

    def get(self) -> Catalog:
        """The current catalog, reloaded if the metadata changed since the last load."""
        with self._engine.connect() as connection:
            version = store.current_metadata_version(connection)
        if version <= self._current[0]:
            return self._current[1]
        with self._lock:  # one thread reloads; the others wait and take its result
            if version > self._current[0]:
                with self._engine.connect() as connection:
                    # read version and catalog together, so the pair is consistent
                    loaded_version = store.current_metadata_version(connection)
                    catalog = store.load_catalog(connection)
                if loaded_version > self._current[0]:
                    self._current = (loaded_version, catalog)
            return self._current[1]
