"""The pages in Chromium: sign in by keyboard, the skip link, lists and sorting, a lead created through
the form with the rules' trace on its timeline, a routed lead from the API, inline validation, a
workflow button — and axe-core on the start page, a list, a record page and a form with errors.

The tests share the module's live server (one database): each makes the records it looks at.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect

from tests.runtime.conftest import PASSWORD
from tests.ui.browser.conftest import LiveServer, assert_accessible, axe_violations, format_violations


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("el => el === document.activeElement"))


def tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until ``target`` has the focus (it must be reachable by keyboard within ``limit`` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if is_focused(target):
            return
    raise AssertionError(f"{target} not reached with {limit} presses of Tab")


def create_lead_by_api(page: Page, server: LiveServer, user: str = "admin", **fields: object) -> dict:
    response = page.request.post(f"{server.url}/api/lead", headers=server.api_headers(user),
                                 data={"company": "Acme", "email": "someone@acme.example", **fields})
    assert response.status == 201, response.text()
    return response.json()


def create_lead_through_form(page: Page, last_name: str, company: str, email: str) -> None:
    page.goto("/app/lead")
    page.get_by_role("link", name="New lead").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New lead")
    page.get_by_label("Last Name").fill(last_name)
    page.get_by_label("Company").fill(company)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(last_name)


# -- signing in, the start page, keyboard use ------------------------------------------------------


def test_sign_in_with_the_keyboard_only_lands_on_the_start_page(page: Page) -> None:
    page.goto("/login")
    user_name = page.get_by_label("User name")
    if not is_focused(user_name):  # the field has autofocus; without it, Tab gets there
        tab_to(page, user_name)
    page.keyboard.type("rep1")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Rep1")
    expect(page.get_by_role("navigation", name="Entities")).to_be_visible()


def test_a_wrong_password_is_announced(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill("rep1")
    page.get_by_label("Password").fill("not the password")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_the_skip_link_moves_the_focus_to_the_main_content(admin_page: Page) -> None:
    page = admin_page
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # visually hidden until it has the focus
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    # the next Tab goes on inside main, past the top bar and the sidebar
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_the_start_page_is_accessible(admin_page: Page) -> None:
    expect(admin_page.get_by_role("main").get_by_role("heading", name=re.compile(r"^CRM\b"), level=2)).to_be_visible()
    assert_accessible(admin_page, "the start page")


def test_navigate_to_leads_by_keyboard(admin_page: Page) -> None:
    page = admin_page
    leads = page.get_by_role("navigation", name="Entities").get_by_role("link", name="Leads", exact=True)
    tab_to(page, leads)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/app/lead$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    expect(leads).to_have_attribute("aria-current", "page")
    # the New form is reachable by keyboard too
    new = page.get_by_role("link", name="New lead")
    tab_to(page, new)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("New lead")


# -- lists ---------------------------------------------------------------------------------------------


def test_sort_a_list_by_clicking_a_header(admin_page: Page, live_server: LiveServer) -> None:
    page = admin_page
    token = unique("Sortby")
    for company in ("Mu", "Alpha", "Zeta"):
        create_lead_by_api(page, live_server, last_name=token, company=f"{company} {token}")
    page.goto(f"/app/lead?q={token}")
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(3)
    companies = rows.locator("td:nth-of-type(2)")  # the first cell holds the row's bulk-action checkbox
    header = page.get_by_role("columnheader", name=re.compile(r"^Company"))
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(companies).to_have_text([f"Alpha {token}", f"Mu {token}", f"Zeta {token}"])
    expect(page).to_have_url(re.compile(r"sort=company"))  # the sorted list has its own address
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(companies).to_have_text([f"Zeta {token}", f"Mu {token}", f"Alpha {token}"])
    expect(page).to_have_url(re.compile(r"sort=-company"))
    assert_accessible(page, "the leads list, sorted")


# -- creating a lead and its timeline ----------------------------------------------------------------


def test_create_a_lead_through_the_form_and_see_the_rules_trace(admin_page: Page) -> None:
    page = admin_page
    last_name = unique("Formby")
    create_lead_through_form(page, last_name, "Formby Ltd", "f@formby.example")
    expect(page).to_have_url(re.compile(r"/app/lead/\d+$"))
    timeline = page.get_by_role("region", name="Timeline")
    # created in the UI the lead stays with its creator, so the routing rules do not assign it;
    # the activity clock rule fires and says so on the timeline
    expect(timeline.get_by_text("Created via ui")).to_be_visible()
    clock = timeline.locator("li.event-rule", has_text="Lead activity clock starts at creation")
    expect(clock).to_be_visible()
    expect(clock).not_to_contain_text("did not fire")
    expect(clock.locator(".event-summary")).to_contain_text("last_activity_at")
    assert_accessible(page, "a lead's record page")


def test_a_west_lead_from_the_api_is_assigned_round_robin_and_the_timeline_says_so(
        admin_page: Page, live_server: LiveServer) -> None:
    page = admin_page
    headers = live_server.api_headers("admin")
    teams = page.request.get(f"{live_server.url}/api/team", headers=headers, params={"filter": "name = 'west_sales'"})
    assert teams.ok, teams.text()
    [team] = teams.json()["items"]
    members = {"rep1": "Rep1", "rep2": "Rep2"}
    for user in members:
        added = page.request.post(f"{live_server.url}/api/team_member", headers=headers,
                                  data={"team": team["id"], "user": live_server.seed.user_ids[user]})
        assert added.status == 201, added.text()
    lead = create_lead_by_api(page, live_server, last_name=unique("Hill"), company="Hill Inc", region="west")
    ids = {live_server.seed.user_ids[user]: name for user, name in members.items()}
    assert lead["owner_id"] in ids
    owner = ids[lead["owner_id"]]

    page.goto(f"/app/lead/{lead['id']}")
    timeline = page.get_by_role("region", name="Timeline")
    west = timeline.locator("li.event-rule", has_text="West leads round robin")
    expect(west).to_be_visible()
    expect(west.locator(".event-summary")).to_contain_text(f"assigned to {owner} (round robin in team 'west_sales')")
    expect(west.locator(".event-summary")).to_contain_text("because region = 'west'")
    expect(timeline.get_by_text("Created via api")).to_be_visible()


# -- validation --------------------------------------------------------------------------------------


def test_fix_a_validation_error_inline(admin_page: Page) -> None:
    page = admin_page
    page.goto("/app/lead/new")
    last_name = unique("Fixme")
    page.get_by_label("Last Name").fill(last_name)
    page.get_by_label("Company").fill("Fixme GmbH")
    page.get_by_role("button", name="Save").click()

    summary = page.get_by_role("alert").filter(has_text="There is a problem").or_(
        page.get_by_role("alert").filter(has_text="problems"))
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Give an e-mail address or a phone number")
    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    email_id = email.get_attribute("id")
    error = page.locator(f"#{email_id}-error")
    expect(error).to_contain_text("Give an e-mail address or a phone number")
    assert f"{email_id}-error" in (email.get_attribute("aria-describedby") or "").split()
    # the summary links to the field
    summary.get_by_role("link", name=re.compile("E-mail")).click()
    expect(email).to_be_focused()
    assert_accessible(page, "the new lead form with errors")

    # filling the field and leaving it re-checks it on the server (htmx) and clears the message
    email.fill("fixed@fixme.example")
    email.press("Tab")
    expect(error).to_have_text("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(last_name)
    expect(page.get_by_role("alert")).to_have_count(0)


# -- workflow ----------------------------------------------------------------------------------------


def test_take_a_workflow_transition_with_its_button(admin_page: Page, live_server: LiveServer) -> None:
    page = admin_page
    lead = create_lead_by_api(page, live_server, last_name=unique("Flow"), company="Flow Co")
    page.goto(f"/app/lead/{lead['id']}")
    steps = page.get_by_role("region", name="Next steps")
    steps.get_by_role("button", name="Start Working").click()
    expect(page).to_have_url(re.compile(rf"/app/lead/{lead['id']}$"))
    details = page.get_by_role("region", name="Details")
    expect(details.locator(".pair", has_text="Status")).to_contain_text("Working")
    expect(steps.get_by_role("button", name="Start Working")).to_have_count(0)
    # qualifying needs a rating first: a form, not a button that does it at once
    expect(steps.get_by_role("link", name=re.compile("^Qualify"))).to_be_visible()
    assert_accessible(page, "a lead's record page after a transition")


def test_the_axe_check_does_catch_a_serious_problem(page: Page) -> None:
    """The wiring is not a silent no-op: an unlabelled input and an image without alt text fail the check."""
    page.set_content('<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input id="x"></main></body></html>')
    violations = axe_violations(page)
    assert {"image-alt", "label"} <= {v["id"] for v in violations}
    report = format_violations(violations)
    assert "image-alt" in report and "#x" in report
