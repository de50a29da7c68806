"""Lookups beyond a select's size: a box taking a name or a record number, with suggestions over htmx.

The limit is lowered for the module so a handful of accounts is "too many".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site, _create, csrf_of
from xrm.ui import form_fields
from xrm.ui.app import create_app
from xrm.ui.lookup_search import reference_id


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(form_fields, "MAX_CHOICES", 2)
        with template_copy(request, "sqlite", tmp_path_factory.mktemp("lookups")) as installed:
            app = create_app(installed.engine)
            with TestClient(app) as api:
                ids = {name: _create(api, installed, "account", {"name": name})
                       for name in ("Acme Corp", "Acme Labs", "Globex", "Initech")}
                yield Site(installed, app, ids)


def _new_contact(client: TestClient, account: str) -> object:
    token = csrf_of(client.get("/app/contact/new").text)
    return client.post("/app/contact/new", data={"csrf_token": token, "last_name": "Box", "account": account})


def test_reference_ids_are_read_from_name_and_number() -> None:
    assert reference_id("Acme Corp (#12)") == "12"
    assert reference_id("42") == "42"
    assert reference_id("Acme") is None and reference_id("(#x)") is None


def test_too_many_records_give_a_search_box_instead_of_a_select(site: Site) -> None:
    page = site.browser("admin").get("/app/contact/new").text
    assert re.search(r'<input type="text" id="f-account" name="account"[^>]*list="f-account-options"', page)
    assert 'hx-get="/app/contact/lookup/account"' in page
    assert '<select id="f-account"' not in page


@pytest.mark.parametrize(("typed", "expected"), [("Globex", "Globex"), ("initech", "Initech"),
                                                 ("Acme Labs (#{acme_labs})", "Acme Labs")])
def test_a_name_or_a_reference_saves_the_lookup_without_javascript(site: Site, typed: str, expected: str) -> None:
    client = site.browser("admin")
    response = _new_contact(client, typed.format(acme_labs=site.ids["Acme Labs"]))
    assert response.status_code == 303, response.text
    record = client.get(response.headers["location"]).text
    assert f">{expected}</a>" in record


def test_an_ambiguous_or_unknown_name_is_an_error_next_to_the_box(site: Site) -> None:
    client = site.browser("admin")
    for typed in ("Acme", "Umbrella"):
        response = _new_contact(client, typed)
        assert response.status_code == 422
        assert 'id="f-account-error"' in response.text and "expected a record id" in response.text
        assert f'value="{typed}"' in response.text, "what was typed is kept"


def test_suggestions_list_matching_readable_records(site: Site) -> None:
    client = site.browser("admin")
    answer = client.get("/app/contact/lookup/account", params={"account": "acme"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert answer.text.startswith('<datalist id="f-account-options">')
    assert re.findall(r'<option value="([^"]+)">', answer.text) == [
        f"Acme Corp (#{site.ids['Acme Corp']})", f"Acme Labs (#{site.ids['Acme Labs']})"]
    rep = site.browser("rep1").get("/app/contact/lookup/account", params={"account": "acme"})
    assert "<option" not in rep.text, "a sales rep sees only their own accounts"
    assert site.browser("admin").get("/app/contact/lookup/nonsense").status_code == 404
