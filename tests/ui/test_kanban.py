"""The kanban board, JavaScript off: columns by a picklist, cards in the reader's scope, moves as form posts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site, _create, csrf_of
from xrm.ui.app import create_app


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("board")) as installed:
        app = create_app(installed.engine)
        users = installed.seed.user_ids
        with TestClient(app) as api:
            ids = {"account": _create(api, installed, "account", {"name": "ACME Corp"})}
            ids["contact"] = _create(api, installed, "contact", {"last_name": "Doe", "account": ids["account"]})
            for name, owner, extra in (
                ("Alpha deal", "rep1", {"primary_contact": ids["contact"]}),
                ("Beta deal", "rep2", {}),
                ("Gamma deal", "rep1", {}),
            ):
                ids[name] = _create(api, installed, "opportunity", {
                    "name": name, "account": ids["account"], "amount": "5000", "close_date": "2026-12-31",
                    "owner_id": users[owner], **extra})
            ids["lead"] = _create(api, installed, "lead", {"last_name": "Walker", "company": "Initech",
                                                           "email": "w@initech.example", "rating": "cold",
                                                           "owner_id": users["rep1"]})
        yield Site(installed, app, ids)


def _columns(page: str) -> list[str]:
    return re.findall(r'<section class="board-column" aria-labelledby="column-([a-z_]+)-heading"', page)


def _column_of(page: str, card_id: int) -> str:
    """The column (option value) the card sits in."""
    at = page.index(f'id="card-{card_id}"')
    return re.findall(r'data-column="([a-z_]*)"', page[:at])[-1]


def _move(client: TestClient, board: str, card_id: int, to: str, **changes: str):  # noqa: ANN202
    page = client.get(board).text
    card = page[page.index(f'id="card-{card_id}"'):]
    action = re.search(r'<form class="card-moves" method="post" action="([^"]+)"', card).group(1).replace("&amp;", "&")
    version = re.search(r'name="version" value="(\d+)"', card).group(1)
    data = {"csrf_token": csrf_of(page), "id": str(card_id), "version": version, "to": to, **changes}
    return client.post(action, data=data)


def test_the_list_links_to_the_board_of_the_workflow_state(site: Site) -> None:
    page = site.browser("manager").get("/app/opportunity?q=deal").text
    assert 'href="/app/opportunity/board?field=stage&amp;q=deal"' in page


def test_columns_follow_the_option_order_and_cards_sit_in_their_column(site: Site) -> None:
    page = site.browser("manager").get("/app/opportunity/board").text
    assert _columns(page) == ["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]
    assert re.search(r'<h2 id="column-prospecting-heading">Prospecting <span class="count">3</span>', page)
    assert _column_of(page, site.ids["Alpha deal"]) == "prospecting"
    assert "ACME Corp" in page and ">Owner<" in page, "the card shows the view's fields and the owner"


def test_a_plain_picklist_board_has_a_column_for_empty_values(site: Site) -> None:
    page = site.browser("manager").get("/app/lead/board?field=rating").text
    assert _columns(page) == ["hot", "warm", "cold", "none"]
    assert _column_of(page, site.ids["lead"]) == "cold"


def test_the_board_keeps_to_the_readers_scope_and_search(site: Site) -> None:
    rep2 = site.browser("rep2").get("/app/opportunity/board").text
    assert "Beta deal" in rep2 and "Alpha deal" not in rep2 and "Gamma deal" not in rep2
    searched = site.browser("manager").get("/app/opportunity/board?q=gamma").text
    assert "Gamma deal" in searched and "Alpha deal" not in searched


def test_cards_offer_only_the_moves_that_can_happen(site: Site) -> None:
    page = site.browser("rep1").get("/app/opportunity/board").text
    alpha = page[page.index(f'id="card-{site.ids["Alpha deal"]}"'):page.index("</li>", page.index(f'id="card-{site.ids["Alpha deal"]}"'))]
    assert 'name="to" value="qualification"' in alpha, "qualify: its contact is set"
    assert 'value="proposal"' not in alpha, "no transition leads from prospecting to proposal"
    assert 'value="closed_lost"' not in alpha.split("<a ")[0], "close lost needs a loss reason: a link to its form"
    assert f'href="/app/opportunity/{site.ids["Alpha deal"]}/transitions/close_lost"' in alpha


def test_a_move_takes_the_transition(site: Site) -> None:
    client = site.browser("rep1")
    board = "/app/opportunity/board?field=stage"
    response = _move(client, board, site.ids["Alpha deal"], "qualification")
    assert response.status_code == 303
    assert response.headers["location"] == f"{board}&moved={site.ids['Alpha deal']}"
    page = client.get(response.headers["location"]).text
    assert _column_of(page, site.ids["Alpha deal"]) == "qualification"
    assert "\u201cAlpha deal\u201d is now in Qualification." in page
    record = client.get(f"/app/opportunity/{site.ids['Alpha deal']}").text
    assert "Moved on via ui" in record, "a transition, on the record's timeline"


def test_a_blocked_move_shows_the_reason_on_the_board(site: Site) -> None:
    client = site.browser("rep1")
    gamma = site.ids["Gamma deal"]
    response = _move(client, "/app/opportunity/board", gamma, "qualification")
    assert response.status_code == 422
    assert 'class="form-error board-message" role="alert"' in response.text
    assert "Primary Contact" in response.text
    assert f'href="/app/opportunity/{gamma}/transitions/qualify"' in response.text
    nowhere = _move(client, "/app/opportunity/board", gamma, "closed_won")
    assert nowhere.status_code == 409 and "No step of" in nowhere.text
    assert _column_of(client.get("/app/opportunity/board").text, gamma) == "prospecting"


def test_a_stale_card_is_refused(site: Site) -> None:
    client = site.browser("manager")
    lead = site.ids["lead"]
    page = client.get("/app/lead/board?field=rating").text
    assert _move(client, "/app/lead/board?field=rating", lead, "warm").status_code == 303
    stale = client.post("/app/lead/board/move?field=rating",
                        data={"csrf_token": csrf_of(page), "id": str(lead), "version": "1", "to": "hot"})
    assert stale.status_code == 409 and "Someone changed this record meanwhile" in stale.text


def test_a_plain_picklist_move_updates_the_field(site: Site) -> None:
    client = site.browser("rep1")
    board = "/app/lead/board?field=rating"
    response = _move(client, board, site.ids["lead"], "hot")
    assert response.status_code == 303
    assert _column_of(client.get(board).text, site.ids["lead"]) == "hot"


def test_a_move_needs_the_csrf_token(site: Site) -> None:
    client = site.browser("manager")
    response = client.post("/app/opportunity/board/move?field=stage",
                           data={"csrf_token": "forged", "id": str(site.ids["Beta deal"]), "to": "closed_lost"})
    assert response.status_code == 403
    page = client.get("/app/opportunity/board").text
    assert _column_of(page, site.ids["Beta deal"]) == "prospecting"


def test_a_rep_cannot_move_a_card_outside_their_scope(site: Site) -> None:
    client = site.browser("rep1")
    page = client.get("/app/opportunity/board").text
    response = client.post("/app/opportunity/board/move?field=stage",
                           data={"csrf_token": csrf_of(page), "id": str(site.ids["Beta deal"]), "to": "qualification"})
    assert response.status_code == 404 and "Beta deal" not in response.text
