"""The admin pages in a real browser: an administrator creates a custom entity and a picklist field on it with
keyboard and mouse, then a record of it in the generated form; every admin page is axe-core clean.
``XRM_SCREENSHOTS=<folder>`` saves a full-page screenshot of each step."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.ui.browser.conftest import LiveServer, assert_accessible
from tests.ui.browser.test_list_tools_in_browser import shoot

PACKS_V2 = Path(__file__).resolve().parents[2] / "fixtures" / "packs_v2"


def test_an_admin_creates_an_entity_and_a_picklist_field_then_a_record_of_it(admin_page: Page,
                                                                           live_server: LiveServer) -> None:
    page = admin_page
    page.get_by_role("navigation", name="Entities").get_by_role("link", name="Customize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customize")
    assert_accessible(page, "the Customize page")
    shoot(page, "admin-home")
    page.get_by_role("link", name="New entity").click()
    page.get_by_label("Name", exact=True).fill("Bad Name")
    page.get_by_label("Label", exact=True).fill("Venue")
    page.get_by_role("button", name="Create entity").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid name")
    expect(page.get_by_label("Label", exact=True)).to_have_value("Venue")
    assert_accessible(page, "the refused new entity form")
    shoot(page, "admin-entity-refused")
    page.get_by_label("Name", exact=True).fill("venue")
    page.get_by_label("Plural label").fill("Venues")
    page.get_by_label("Plural label").press("Enter")  # submits by keyboard
    expect(page.get_by_role("heading", level=1)).to_contain_text("Venues")
    assert_accessible(page, "the entity's admin page")

    page.get_by_role("link", name="Add a field").click()
    page.get_by_label("Type").select_option(label="Picklist")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Name", exact=True).fill("size")
    page.get_by_label("Label", exact=True).fill("Size")
    page.get_by_label("Options").fill("small = Small\nlarge = Large")
    page.get_by_label("Required").check()
    page.get_by_label("Default value").fill("small")
    assert_accessible(page, "the add field form")
    shoot(page, "admin-field-new")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("row", name="Size")).to_contain_text("Picklist")
    shoot(page, "admin-entity")

    page.get_by_role("link", name="Size").click()
    page.get_by_label("Value", exact=True).fill("medium")
    page.get_by_label("Label", exact=True).last.fill("Medium")
    page.get_by_role("button", name="Add value").click()
    expect(page.get_by_label("Label of medium")).to_have_value("Medium")
    assert_accessible(page, "the field's admin page")
    shoot(page, "admin-field")

    page.goto("/app/venue/new")
    page.get_by_role("textbox", name="Name", exact=True).fill("Town hall")
    page.get_by_label("Size").select_option(label="Medium")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Town hall")
    expect(page.locator("main")).to_contain_text("Medium")
    page.goto("/app/venue")
    expect(page.get_by_role("link", name="Town hall")).to_be_visible()


def test_the_other_admin_pages_are_accessible(admin_page: Page, live_server: LiveServer) -> None:
    page = admin_page
    for path, name in (("/admin/access", "admin-access"), ("/admin/access/edit?role=sales_rep&entity=lead", "admin-grant"),
                       ("/admin/history", "admin-history"), ("/admin/entities/lead/fields/rating", "admin-picklist")):
        page.goto(path)
        assert_accessible(page, path)
        shoot(page, name)
    page.goto("/admin/packs")
    page.get_by_label("Pack folder").fill(str(PACKS_V2 / "partners"))
    page.get_by_role("button", name="Show the plan").click()
    expect(page.get_by_role("heading", level=2, name="Plan: partners")).to_be_visible()
    assert_accessible(page, "the pack upgrade plan")
    shoot(page, "admin-packs")
    added = page.request.post(f"{live_server.url}/api/meta/entities/lead/fields", headers=live_server.api_headers(),
                              data={"name": "legacy_code", "type": "text", "label": "Legacy code"})
    assert added.ok, added.text()
    page.goto("/admin/entities/lead/fields/legacy_code")
    page.get_by_role("button", name="Remove Legacy code").click()
    page.get_by_role("link", name="Purge Legacy code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Purge Legacy code")
    assert_accessible(page, "the purge confirm page")
    shoot(page, "admin-purge")
