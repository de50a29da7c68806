"""The catalog, cached per process and reloaded when the metadata version moves.

Every app process checks one small row per request, so a pack installed, an
admin change or a pack upgrade made through one process is seen by all of
them without a restart.  Write transactions hold that row with a shared lock
on PostgreSQL (``store.current_metadata_version(hold=True)``): a metadata
change bumps it first, so it waits for the writes in flight and new writes wait
for it (``xrm.metadata.schema_session``).
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine

from xrm.db import READ_ONLY_OPTION, read_only
from xrm.metadata import store
from xrm.metadata.catalog import Catalog
from xrm.runtime.record_model import RecordModel


class CatalogCache:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        #: (metadata version, catalog, record model), replaced whole and only by a newer version
        self._current: tuple[int, Catalog, RecordModel | None] = (-1, Catalog(), None)

    def get(self) -> Catalog:
        """The current catalog, reloaded if the metadata changed since the last load."""
        return self.model().catalog

    def model(self) -> RecordModel:
        """Tables and compiled logic of the current catalog (rebuilt with it)."""
        with read_only(self._engine.connect()) as connection:
            return self.model_for(connection)

    def model_for(self, connection: Connection) -> RecordModel:
        """The model of the metadata ``connection`` sees (a request's own transaction, so both agree)."""
        # a write transaction holds the version (a shared row lock) so no metadata change lands under it
        writes = not connection.get_execution_options().get(READ_ONLY_OPTION, False)
        version = store.current_metadata_version(connection, hold=writes)
        current = self._current
        if version <= current[0] and current[2] is not None:
            return current[2]
        with self._lock:  # one thread reloads; the others wait and take its result
            if version > self._current[0]:
                # read version and catalog in the same transaction, so the pair is consistent
                catalog = store.load_catalog(connection)
                if version > self._current[0] or self._current[2] is None:
                    self._current = (version, catalog, RecordModel(catalog))
            model = self._current[2]
            assert model is not None
            return model
