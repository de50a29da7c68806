"""The CSV import in Chromium: upload, the mapping page, the progress followed over htmx to the result, and
axe-core on each step; the list's export link downloads the list."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.ui.browser.conftest import assert_accessible


def test_import_a_file_step_by_step(admin_page: Page, tmp_path: Path) -> None:
    page = admin_page
    company = f"Browser Import {uuid.uuid4().hex[:6]}"
    file = tmp_path / "leads.csv"
    file.write_text("Last Name,Company,Phone,Rating\n" + "".join(f"B{i},{company},555 1234,warm\n" for i in range(150))
                    + f"Bad,{company},555 1234,tepid\n", encoding="utf-8")
    page.goto("/app/lead/import")
    assert_accessible(page, "the upload form")
    page.get_by_label("CSV file").set_input_files(str(file))
    page.get_by_role("button", name="Upload and choose columns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the columns of leads.csv")
    expect(page.get_by_label("Field for the column Rating")).to_have_value("rating")
    assert_accessible(page, "the mapping page")
    page.get_by_role("button", name="Import 151 rows").click()
    expect(page.get_by_role("heading", name="Finished")).to_be_visible()
    expect(page.locator(".import-counts .failed dd")).to_have_text("1")
    assert_accessible(page, "the result")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the 1 refused row (CSV with row numbers and errors)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith(f"Bad,{company},555 1234,tepid,152,")


def test_the_list_exports_what_it_shows(admin_page: Page) -> None:
    page = admin_page
    page.goto("/app/lead?q=nobody-has-this-name")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("lead-")
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 and lines[0].startswith("Full Name,")
