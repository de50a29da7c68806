"""Fixtures for the expression language tests: entities, tables and a checker shortcut."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.rules.expr.entities import test_entities
from xrm.metadata.model import Entity
from xrm.rules.expr import CheckedExpression, check_expression


@pytest.fixture(scope="session")
def entities() -> dict[str, Entity]:
    return test_entities()


@pytest.fixture(scope="session")
def lead(entities: dict[str, Entity]) -> Entity:
    return entities["lead"]


@pytest.fixture
def check(lead: Entity, entities: dict[str, Entity]) -> Callable[..., CheckedExpression]:
    """``check("amount > 1")`` checks against lead."""

    def run(source: str, **options) -> CheckedExpression:  # noqa: ANN003
        return check_expression(source, lead, entities, **options)

    return run
