"""Fixtures for the field type tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xrm.metadata.fieldtypes import registry


@pytest.fixture
def restore_field_types() -> Iterator[None]:
    """Put the global field type registry back as it was, whatever the test registered."""
    saved = dict(registry._FIELD_TYPES)
    try:
        yield
    finally:
        registry._FIELD_TYPES.clear()
        registry._FIELD_TYPES.update(saved)
