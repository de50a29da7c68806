"""Fixtures for the metadata tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xrm.metadata.fieldtypes import registry
from xrm.metadata.schemas import clear_schema_cache


@pytest.fixture
def restore_field_types() -> Iterator[None]:
    """Put the global field type registry (and the schemas compiled from it) back as they were."""
    saved = dict(registry._FIELD_TYPES)
    try:
        yield
    finally:
        registry._FIELD_TYPES.clear()
        registry._FIELD_TYPES.update(saved)
        clear_schema_cache()
