"""Dashboards in Chromium: the charts render with real numbers, the data table opens, a segment leads to its
records, a screenshot is kept (under pytest's tmp folder) for people to look at, and axe-core finds nothing serious."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.ui.browser.conftest import LiveServer, assert_accessible

LEADS = [("web", "hot"), ("web", "cold"), ("web", "cold"), ("referral", "warm"), ("partner", "hot")]
CASES = ["high", "high", "low", "urgent"]


def _post(page: Page, server: LiveServer, entity: str, values: dict) -> None:
    response = page.request.post(f"{server.url}/api/{entity}", headers=server.api_headers(), data=values)
    assert response.status == 201, response.text()


def _seed(page: Page, server: LiveServer) -> None:
    for number, (source, rating) in enumerate(LEADS):
        _post(page, server, "lead", {"last_name": f"Dash{number}", "company": "Dashco", "email": f"d{number}@dash.example",
                                     "source": source, "rating": rating})
    for number, priority in enumerate(CASES):
        _post(page, server, "case", {"subject": f"Printer {number} is on fire", "priority": priority})


def test_a_dashboard_renders_its_charts_and_tables(admin_page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    page = admin_page
    _seed(page, live_server)
    page.get_by_role("link", name="Dashboards").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboards")
    assert_accessible(page, "the dashboards page")
    page.get_by_role("link", name="Lead generation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead generation")
    card = page.locator("#widget-leads_by_source")
    expect(card.locator("svg.chart-svg")).to_be_visible()
    expect(card.locator(".chart-legend")).to_contain_text("Hot")
    card.get_by_text("Show data").click()
    web = card.get_by_role("row", name="Web")
    expect(web).to_be_visible()
    expect(web.get_by_role("cell").last).to_have_text("3")
    page.screenshot(path=str(tmp_path / "lead_generation.png"), full_page=True)
    assert (tmp_path / "lead_generation.png").stat().st_size > 10_000
    assert_accessible(page, "the lead generation dashboard with a data table open")


def test_a_segment_opens_the_list_of_its_records(admin_page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    page = admin_page
    for number in range(2):
        _post(page, live_server, "case", {"subject": f"Toner {number} is empty", "priority": "high"})
    page.goto("/dashboards/service_desk")
    donut = page.locator("#widget-open_by_priority")
    segment = donut.locator("svg a[aria-label^='High:']")
    expect(segment).to_have_count(1)
    count = int(segment.get_attribute("aria-label").split(": ")[1])
    assert count >= 2
    page.screenshot(path=str(tmp_path / "service_desk.png"), full_page=True)
    assert_accessible(page, "the service desk dashboard")
    segment.focus()  # by keyboard: a ring segment's box centre may fall in the hole
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    assert "priority" in page.url and "filter=" in page.url
    expect(page.get_by_role("textbox", name="Filter")).to_have_value("(status not in ('resolved', 'closed')) and (priority = 'high')")
    expect(page.locator("table.grid tbody tr")).to_have_count(count)


def test_the_edit_form_is_accessible_and_shows_problems_in_place(admin_page: Page, tmp_path: Path) -> None:
    page = admin_page
    page.goto("/dashboards/service_desk")
    page.get_by_role("link", name="Edit dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit dashboard")
    assert_accessible(page, "the dashboard edit form")
    page.locator("#w-0-filter").fill("status = 'open' and priorty = 'high'")
    page.get_by_role("button", name="Save dashboard").click()
    expect(page.locator("#w-0-filter-error")).to_contain_text("1:21: unknown field 'priorty' on case")
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    page.screenshot(path=str(tmp_path / "dashboard_edit.png"), full_page=True)
    assert_accessible(page, "the dashboard edit form with a problem")
