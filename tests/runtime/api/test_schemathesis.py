"""Schemathesis against the generated OpenAPI document: no server errors, and every answer is the one documented.

The document is loaded from ``GET /api/openapi.json`` of an app over a fresh copy
of the session's template database (three packs, the cast).  Each test runs one
record operation (list, create, read, change, delete, timeline) of the lead,
account or case entity with a bounded, derandomized number of generated
requests, valid ones and invalid ones, as the administrator.  A few records
exist beforehand so that reads, changes and deletes of small ids reach real
records and not only 404s.

Schemathesis' own pytest integration (``schemathesis.pytest.from_fixture``)
does not work with this pytest (it sets ``Function._nodeid``, which pytest 9
no longer has), so the cases come from ``APIOperation.as_strategy`` under
Hypothesis' ``@given``; ``Case.call_and_validate`` sends them through the ASGI
app and runs the checks.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from tests.runtime.conftest import Seed
from xrm.db import make_engine
from xrm.ui.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ENTITIES = ("lead", "account", "case")
OPERATIONS = [("GET", "/api/{entity}"), ("POST", "/api/{entity}"), ("GET", "/api/{entity}/{{id}}"),
              ("PATCH", "/api/{entity}/{{id}}"), ("DELETE", "/api/{entity}/{{id}}"),
              ("GET", "/api/{entity}/{{id}}/timeline"), ("GET", "/api/{entity}/{{id}}/trace")]
#: A few valid records per entity, created before the run.
SEED_RECORDS = {
    "lead": [{"last_name": f"Doe {n}", "company": "ACME", "email": f"doe{n}@example.com"} for n in range(1, 4)],
    "account": [{"name": f"Account {n}"} for n in range(1, 4)],
    "case": [{"subject": f"Printer on fire #{n}"} for n in range(1, 4)],
}
SEED_IDS = [1, 2, 3]
#: Inputs the document allows that the generator seldom reaches within the budget, each also run as an
#: explicit example: the largest offsets, web addresses whose scheme is not http(s), a case created with its
#: response and resolution times (formulas over created_at).
EDGE_INPUTS: dict[tuple[str, str], list[dict[str, Any]]] = {
    **{("GET", f"/api/{entity}"): [{"query": {"offset": 2**63 - 1}}, {"query": {"offset": 2**63}},
                                   {"query": {"limit": 500, "offset": 10**30}}] for entity in ENTITIES},
    ("POST", "/api/lead"): [{"body": {"last_name": "Edge", "company": "ACME", "email": "edge@example.com",
                                      "website": "about:blank"}}],
    ("POST", "/api/account"): [{"body": {"name": "Edge", "website": "about:blank"}}],
    ("PATCH", "/api/account/{id}"): [{"path_parameters": {"id": 1}, "body": {"website": "urn:isbn:0451450523"}}],
    ("POST", "/api/case"): [{"body": {"subject": "Edge", "first_response_at": "2000-01-01T00:00:00Z"}},
                           {"body": {"subject": "Edge", "resolved_at": "2000-01-02T00:00:00Z"}}],
}
#: Generated requests per operation, valid and invalid ones drawn from one strategy.
EXAMPLES = 30


class Target:
    """The loaded schema and the headers that authenticate as the administrator."""

    def __init__(self, schema: schemathesis.BaseSchema, headers: dict[str, str]) -> None:
        self.schema, self.headers = schema, headers


@pytest.fixture
def target(sqlite_template: tuple[Path, Seed], tmp_path: Path) -> Iterator[Target]:
    """The OpenAPI document of an app over a fresh copy of the template database, with a few records."""
    template, seed = sqlite_template
    shutil.copy(template, tmp_path / "xrm.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'xrm.db'}")
    app = create_app(engine)
    headers = {"Authorization": f"Bearer {seed.tokens['admin']}"}
    with TestClient(app) as client:
        for entity, records in SEED_RECORDS.items():
            for record in records:
                response = client.post(f"/api/{entity}", json=record, headers=headers)
                assert response.status_code == 201, response.text
            assert [r["id"] for r in client.get(f"/api/{entity}", headers=headers).json()["items"]] == SEED_IDS
    config = schemathesis.Config.from_dict({"generation": {"deterministic": True}})
    yield Target(schemathesis.openapi.from_asgi("/api/openapi.json", app, config=config), headers)
    engine.dispose()


#: Operations that are not per entity.
GLOBAL_OPERATIONS = [("POST", "/api/rules/check"), ("POST", "/api/rules/dry-run")]


@pytest.mark.parametrize(("method", "path"), [(method, path.format(entity=entity))
                                              for entity in ENTITIES for method, path in OPERATIONS]
                         + GLOBAL_OPERATIONS)
def test_operation_conforms_to_the_document(target: Target, method: str, path: str) -> None:
    operation = target.schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
    if "{id}" in path:  # also the ids of the records made beforehand, not only ids that are not there
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if method == "PATCH" else [])
        cases = st.one_of(cases, *(st.sampled_from(SEED_IDS).flatmap(
            lambda record_id, mode=mode: operation.as_strategy(mode, path_parameters={"id": record_id}))
            for mode in modes))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=target.headers, checks=CHECKS)

    for inputs in EDGE_INPUTS.get((method, path), []):
        run = example(case=operation.Case(**inputs))(run)
    run()
