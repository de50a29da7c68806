"""More pages in Chromium: a saved view, a bulk assignment, an opportunity dragged across the kanban board
and a rule dry run — each checked with axe-core where it is a page of its own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.ui.browser.conftest import LiveServer, assert_accessible
from tests.ui.browser.test_pages_in_browser import create_lead_by_api, unique

#: Set XRM_SCREENSHOTS=/some/folder to keep a screenshot of each page these tests visit (to look at them).
SHOTS = os.environ.get("XRM_SCREENSHOTS")


def shoot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_save_a_view_with_a_filter_and_chosen_columns(admin_page: Page, live_server: LiveServer) -> None:
    city = unique("Town")
    for name in ("Alpha", "Beta"):
        create_lead_by_api(admin_page, live_server, last_name=name, city=city)
    page = admin_page
    page.goto("/app/lead")
    page.get_by_label("Filter").fill(f"city = '{city}'")
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("City", exact=True).check()
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("1–2 of 2")
    expect(page.get_by_role("columnheader", name="City")).to_be_visible()
    page.get_by_text("Save this list as a view").click()
    view_name = unique("My view ")
    page.get_by_label("Name", exact=True).fill(view_name)
    page.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"/app/lead\?view=saved-\d+$"))
    expect(page.get_by_label("View")).to_have_value(re.compile(r"saved-\d+"))
    expect(page.locator("#view option:checked")).to_have_text(view_name)
    expect(page.get_by_role("status")).to_have_text("1–2 of 2")
    expect(page.get_by_role("columnheader", name="City")).to_be_visible()
    shoot(page, "list-saved-view")
    assert_accessible(page, "a list in a saved view")


def test_assign_ticked_leads_in_bulk(admin_page: Page, live_server: LiveServer) -> None:
    company = unique("Bulk Co ")
    leads = [create_lead_by_api(admin_page, live_server, last_name=f"Bulk{n}", company=company) for n in range(3)]
    page = admin_page
    page.goto(f"/app/lead?q={company.replace(' ', '+')}")
    expect(page.get_by_role("status")).to_have_text("1–3 of 3")
    page.get_by_label("Select Bulk0").check()
    page.get_by_label("Select Bulk2").check()
    page.get_by_label("Assign to", exact=True).check()
    page.get_by_label("Assign to whom").select_option(label="Rep2")
    shoot(page, "list-bulk")
    page.get_by_role("button", name="Apply to ticked").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2 leads assigned")
    page.get_by_role("link", name="Back to the list").click()
    expect(page.get_by_role("status")).to_have_text("1–3 of 3")
    for lead, owner in zip(leads, ("Rep2", None, "Rep2"), strict=True):
        record = page.request.get(f"{live_server.url}/api/lead/{lead['id']}", headers=live_server.api_headers())
        assigned = record.json()["owner_id"] == live_server.seed.user_ids["rep2"]
        assert assigned == (owner == "Rep2")


def _opportunity_in_proposal(page: Page, server: LiveServer) -> dict:
    headers = server.api_headers()
    account = page.request.post(f"{server.url}/api/account", headers=headers, data={"name": unique("Board Co ")}).json()
    contact = page.request.post(f"{server.url}/api/contact", headers=headers,
                                data={"last_name": "Buyer", "account": account["id"]}).json()
    name = unique("Deal ")
    opportunity = page.request.post(f"{server.url}/api/opportunity", headers=headers, data={
        "name": name, "account": account["id"], "primary_contact": contact["id"], "amount": "5000",
        "close_date": "2027-03-31"}).json()
    for transition in ("qualify", "send_proposal"):
        response = page.request.post(f"{server.url}/api/opportunity/{opportunity['id']}/transitions/{transition}",
                                     headers=headers, data={})
        assert response.ok, response.text()
    return {**opportunity, "name": name}


def test_drag_an_opportunity_to_the_next_stage_on_the_board(admin_page: Page, live_server: LiveServer) -> None:
    opportunity = _opportunity_in_proposal(admin_page, live_server)
    page = admin_page
    page.goto(f"/app/opportunity/board?q={opportunity['name'].replace(' ', '+')}")
    card = page.locator(f"#card-{opportunity['id']}")
    proposal = page.locator("section.board-column[data-column='proposal']")
    negotiation = page.locator("section.board-column[data-column='negotiation']")
    expect(proposal.locator(f"#card-{opportunity['id']}")).to_be_visible()
    shoot(page, "board-before")
    assert_accessible(page, "the opportunity board")
    card.drag_to(negotiation)
    expect(negotiation.locator(f"#card-{opportunity['id']}")).to_be_visible()
    record = page.request.get(f"{live_server.url}/api/opportunity/{opportunity['id']}",
                              headers=live_server.api_headers())
    assert record.json()["stage"] == "negotiation"


def test_a_dry_run_shows_which_rules_fire_and_why(admin_page: Page) -> None:
    page = admin_page
    page.goto("/rules/dry-run")
    page.get_by_label("Entity").select_option("lead")
    page.get_by_label("Record", exact=True).fill("last_name = 'Tester'\ncompany = 'Dry Run Ltd'\nemail = 'tester@dry.example'\nregion = 'west'\nrating = 'warm'")
    page.get_by_role("button", name="Run").click()
    result = page.locator("#result")
    shoot(page, "dry-run")
    expect(result.get_by_role("heading", name="Result")).to_be_visible()
    expect(result.locator(".decision.fired").first).to_be_visible()
    expect(result).to_contain_text("West leads round robin")
    expect(result).to_contain_text("because")
    shoot(page, "dry-run")
    assert_accessible(page, "the dry-run result")


def test_a_condition_marks_a_field_required_as_soon_as_its_trigger_changes(admin_page: Page,
                                                                            live_server: LiveServer) -> None:
    headers = live_server.api_headers()
    request = admin_page.request
    account = request.post(f"{live_server.url}/api/account", headers=headers, data={"name": unique("Lost Co ")}).json()
    opportunity = request.post(f"{live_server.url}/api/opportunity", headers=headers,
                               data={"name": unique("Lost "), "account": account["id"]}).json()
    closed = request.post(f"{live_server.url}/api/opportunity/{opportunity['id']}/transitions/close_lost",
                          headers=headers, data={"values": {"close_date": "2026-11-30", "loss_reason": "price"}})
    assert closed.ok, closed.text()
    page = admin_page
    page.goto(f"/app/opportunity/{opportunity['id']}/edit")
    marker = page.locator("#f-competitor-wrap .when-required")
    expect(page.get_by_label("Loss Reason")).to_be_visible()
    expect(marker).to_be_hidden()
    page.get_by_label("Loss Reason").select_option(label="Lost to Competitor")
    expect(marker).to_be_visible()
    shoot(page, "form-condition")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#f-competitor-error")).to_contain_text("is required when loss_reason = 'competitor'")
    assert_accessible(page, "a form with a condition")
