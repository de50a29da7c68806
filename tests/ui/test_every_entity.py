"""Every entity of the three packs through the generated pages, as an administrator with JavaScript off:
list, quick search, filter, new form, create through the form, record page, edit form, and the board where
the entity has a picklist.  Sample values come from the metadata alone (a value per field type), so an
entity added to a pack is covered without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import PACKS_DIR
from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site, csrf_of
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.installer import installed_catalog
from xrm.metadata.loader import read_pack
from xrm.metadata.model import Entity, Field
from xrm.ui.app import create_app

PACKS = ("crm", "service", "partners")


def _pack_entities() -> list[str]:
    names = []
    for pack in PACKS:
        source = read_pack(PACKS_DIR / pack)
        names += [document.data["name"] for kind, document in source.documents if kind == "entity"]
    return sorted(names)


ENTITIES = _pack_entities()

#: A value per field type, as a form posts it.
SAMPLES: dict[str, Any] = {
    "text": "SAMPLE", "long_text": "Sample text", "email": "sample@example.com", "phone": "+49 30 123456",
    "url": "https://example.com", "integer": "1", "decimal": "1", "currency": "100", "percent": "10",
    "date": date(2026, 12, 1).isoformat(), "datetime": "2026-12-01T09:00", "duration": "1h", "boolean": "true",
}


#: Optional fields an entity's validation rules ask for one of ("a lead or a contact"): filled too.
ONE_OF: dict[str, tuple[str, ...]] = {"campaign_member": ("lead",), "deal_registration": ("prospect_company",)}


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("every")) as installed:
        app = create_app(installed.engine)
        with TestClient(app):
            yield Site(installed, app, {})


def _entity(site: Site, name: str) -> Entity:
    return installed_catalog(site.installed.engine).entities[name]


def _sample(site: Site, client: TestClient, field: Field, depth: int) -> str | None:
    if field.type in ("picklist", "multi_picklist"):
        return next((o.value for o in field.options if o.active), None)
    if field.type == "lookup":
        existing = re.search(r'<option value="(\d+)"', _select_of(client, field))
        if existing:
            return existing.group(1)
        return str(_make(site, client, field.target or "", depth + 1)) if depth < 3 else None
    if field.type == "user":
        return str(site.installed.seed.user_ids["admin"])
    if field.type == "text" and field.max_length is not None and field.max_length < len(SAMPLES["text"]):
        return "DE"[: field.max_length]  # short text fields hold codes (countries, currencies), in capitals
    return SAMPLES.get(field.type)


def _select_of(client: TestClient, field: Field) -> str:
    """The options of the lookup's select on its target's own list (the first readable record, if any)."""
    page = client.get(f"/app/{field.target}", params={"sort": "id"}).text
    ids = re.findall(rf'<a href="/app/{field.target}/(\d+)">', page)
    return f'<option value="{ids[0]}">' if ids else ""


def _form_values(site: Site, client: TestClient, entity: Entity, depth: int) -> dict[str, str]:
    page = client.get(f"/app/{entity.name}/new").text
    editable = set(re.findall(r'<(?:input|select|textarea)[^>]* id="f-(\w+)"', page))
    values = {}
    for field in entity.fields:
        # optional fields stay empty (rules about them hold), but for contact details and one-of pairs
        wanted = field.required or field.type in ("email", "phone") or field.name in ONE_OF.get(entity.name, ())
        if wanted and field.name in editable and not get_field_type(field.type).computed and not field.unique:
            value = _sample(site, client, field, depth)
            if value is not None:
                values[field.name] = value
    return {"csrf_token": csrf_of(page), **values}


def _make(site: Site, client: TestClient, name: str, depth: int = 0) -> int:
    """A record of ``name`` made through its own form (its lookups' targets first, the same way)."""
    entity = _entity(site, name)
    values = _form_values(site, client, entity, depth)
    for field in entity.fields:  # unique fields get values of their own
        if field.unique and field.type in SAMPLES and f"f-{field.name}" in client.get(f"/app/{name}/new").text:
            values[field.name] = f"u{len(values)}{id(values) % 100000}" if field.type == "text" else SAMPLES[field.type]
    response = client.post(f"/app/{name}/new", data=values)
    assert response.status_code == 303, f"{name}: {re.findall(r'<p>([^<]+)</p>', response.text)}"
    return int(response.headers["location"].rsplit("/", 1)[1])


@pytest.mark.parametrize("name", ENTITIES)
def test_every_entity_through_its_pages(site: Site, name: str) -> None:
    client = site.browser("admin")
    record_id = _make(site, client, name)
    record = client.get(f"/app/{name}/{record_id}")
    assert record.status_code == 200 and "<h1>" in record.text
    listing = client.get(f"/app/{name}")
    assert listing.status_code == 200 and f'href="/app/{name}/{record_id}"' in listing.text
    assert client.get(f"/app/{name}", params={"q": "sample"}).status_code == 200
    filtered = client.get(f"/app/{name}", params={"filter": f"id = {record_id}"})
    assert "1–1 of 1" in filtered.text
    edit = client.get(f"/app/{name}/{record_id}/edit")
    assert edit.status_code == 200 and 'name="version"' in edit.text
    workflows = [w for w in installed_catalog(site.installed.engine).workflows.values() if w.entity == name]
    if workflows:  # a workflow's buttons: the transitions out of the initial state
        assert f'action="/app/{name}/{record_id}/transitions/' in record.text \
            or f'href="/app/{name}/{record_id}/transitions/' in record.text
    if any(f.type == "picklist" for f in _entity(site, name).fields):
        board = client.get(f"/app/{name}/board")
        assert board.status_code == 200 and f'id="card-{record_id}"' in board.text
