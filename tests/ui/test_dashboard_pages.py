"""Dashboard pages with JavaScript off: the numbers are in the page (SVG marks and data tables), every segment links
to the list filtered to exactly its records, and each reader counts only what they may read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site
from xrm.context import Context
from xrm.metadata.store import current_metadata_version
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import RecordService
from xrm.system_tables import metadata_documents
from xrm.ui.app import create_app

#: name, owner, stage, amount
DEALS = [
    ("Alpha", "rep1", "proposal", "1000"), ("Bravo", "rep1", "proposal", "2500.50"), ("Charlie", "rep2", "proposal", "700"),
    ("Delta", "rep2", "negotiation", "9000"), ("Echo", "rep1", "qualification", "120"), ("Foxtrot", "rep2", "prospecting", None),
]


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("dashboards")) as installed:
        app = create_app(installed.engine)
        users = installed.seed.user_ids
        service = RecordService(CatalogCache(installed.engine).model())
        importing = Context(installed.actor("admin"), "import")  # an import may set a workflow's state
        ids = {}
        with installed.engine.begin() as connection:
            account = service.create(connection, importing, "account", {"name": "ACME Corp"})["id"]
            for name, owner, stage, amount in DEALS:
                values = {"name": name, "account": account, "close_date": "2026-06-30", "owner_id": users[owner],
                          "stage": stage, **({"amount": amount} if amount else {})}
                ids[name] = service.create(connection, importing, "opportunity", values)["id"]
            for number, (source, rating) in enumerate([("web", "hot"), ("web", "cold"), ("referral", "hot")]):
                service.create(connection, importing, "lead", {"last_name": f"Lead {number}", "company": "Initech",
                                                               "email": f"l{number}@x.example", "source": source,
                                                               "rating": rating})
        yield Site(installed, app, ids)


def widget(page: str, name: str) -> str:
    """The HTML of one widget's card."""
    start = page.index(f'id="widget-{name}"')
    end = page.find('<section class="card widget', start + 1)
    return page[start: end if end > 0 else len(page)]


def table_rows(card: str) -> dict[str, list[str]]:
    """The data table's rows: group label → the cells' texts."""
    body = card[card.index("<tbody>"): card.index("</tbody>")]
    rows = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", body, re.S):
        rows[unescape(row[0])] = [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]
    return rows


def mark_links(card: str) -> dict[str, str]:
    """The SVG marks: aria-label → href."""
    svg = card[card.index("<svg"): card.index("</svg>")]
    return {unescape(label): unescape(href) for href, label in re.findall(r'<a href="([^"]+)" aria-label="([^"]+)">', svg)}


def listed(client: TestClient, href: str) -> set[str]:
    """The opportunity names a list page shows."""
    page = client.get(href).text
    assert 'class="form-error"' not in page and "not a valid condition" not in page, page[:2000]
    return {name for name, *_ in DEALS if re.search(rf">{name}<", page)}


def test_the_dashboards_page_lists_what_the_reader_can_use(site: Site) -> None:
    admin = site.browser("admin").get("/dashboards").text
    for label in ("Sales pipeline", "Lead generation", "Campaign response", "Service desk", "Partner channel"):
        assert label in admin
    assert 'href="/dashboards"' in admin and 'aria-current="page"' in admin, "the top bar links here"
    nobody = site.browser("nobody").get("/dashboards").text
    assert "Sales pipeline" not in nobody and "no dashboard" in nobody
    assert site.browser("nobody").get("/dashboards/sales_pipeline").status_code == 404
    assert site.browser("admin").get("/dashboards/nothing_here").status_code == 404


def test_numbers_are_in_the_data_table_without_javascript(site: Site) -> None:
    page = site.browser("manager").get("/dashboards/sales_pipeline").text
    assert "<script" not in widget(page, "opportunities_by_stage")
    rows = table_rows(widget(page, "opportunities_by_stage"))
    assert rows["Proposal"] == ["3"] and rows["Negotiation"] == ["1"] and rows["Prospecting"] == ["1"]
    funnel = table_rows(widget(page, "pipeline_funnel"))
    assert funnel["Proposal"] == ["4,200.50 USD", "3"], "the amount, then the records counted"
    assert funnel["Qualification"] == ["120.00 USD", "1"]
    assert "13,320.50 USD" in widget(page, "open_pipeline"), "open amount: every stage but won and lost"


def test_a_segment_link_lists_exactly_its_records(site: Site) -> None:
    client = site.browser("manager")
    card = widget(client.get("/dashboards/sales_pipeline").text, "opportunities_by_stage")
    links = mark_links(card)
    proposal = links["Proposal: 3"]
    assert proposal == "/app/opportunity?filter=stage+%3D+%27proposal%27"
    assert listed(client, proposal) == {"Alpha", "Bravo", "Charlie"}
    funnel = mark_links(widget(client.get("/dashboards/sales_pipeline").text, "pipeline_funnel"))
    [negotiation] = [href for label, href in funnel.items() if label.startswith("Negotiation:")]
    assert "9,000.00 USD, 1 record" in next(label for label in funnel if label.startswith("Negotiation:"))
    assert listed(client, negotiation) == {"Delta"}


def test_a_sales_rep_counts_only_their_own_opportunities(site: Site) -> None:
    client = site.browser("rep1")
    page = client.get("/dashboards/sales_pipeline").text
    rows = table_rows(widget(page, "opportunities_by_stage"))
    assert rows == {"Qualification": ["1"], "Proposal": ["2"]}
    assert listed(client, mark_links(widget(page, "opportunities_by_stage"))["Proposal: 2"]) == {"Alpha", "Bravo"}


def test_a_hidden_field_is_not_summed_for_a_reader_who_cannot_see_it(site: Site) -> None:
    page = site.browser("marketing").get("/dashboards/sales_pipeline").text
    assert "Not shown: cannot measure &#39;amount&#39;" in widget(page, "pipeline_funnel")
    assert "9,000" not in page
    assert table_rows(widget(page, "opportunities_by_stage"))["Proposal"] == ["3"], "counting still works"


def test_charts_are_labelled_svg_with_a_legend_for_series(site: Site) -> None:
    page = site.browser("admin").get("/dashboards/lead_generation").text
    card = widget(page, "leads_by_source")
    assert re.search(r'<svg class="chart-svg" viewBox="0 0 \d+ \d+" role="group" aria-labelledby="widget-leads_by_source-title"', card)
    assert '<desc id="widget-leads_by_source-desc">Bar chart of records by lead source and series' in card
    assert 'class="chart-legend"' in card and ">Hot<" in card
    assert "<summary>Show data" in card
    assert table_rows(card) == {"Web": ["1", "1", "2"], "Referral": ["1", "0", "1"]}, "hot, cold, total"


def test_shares_show_each_series_as_a_percentage_of_its_group(site: Site) -> None:
    client = site.browser("admin")
    data = _form_of(client.get("/dashboards/lead_generation/edit").text)
    row = _row_of(data, "leads_by_source")
    data[f"w-{row}-share"] = "true"
    assert client.post("/dashboards/lead_generation/edit", data=data).status_code == 303
    card = widget(client.get("/dashboards/lead_generation").text, "leads_by_source")
    assert table_rows(card)["Web"] == ["1 (50 %)", "1 (50 %)", "2"]
    assert "Share of records (%)" in card
    assert 'aria-label="Web · Hot: 1 (50 % of the group)"' in card
    edit = client.get("/dashboards/lead_generation/edit").text
    assert f'name="w-{row}-share" aria-describedby' in edit and re.search(rf'name="w-{row}-share"[^>]*checked', edit)
    client.post("/dashboards/lead_generation/reset", data={"csrf_token": data["csrf_token"]})


def test_a_widget_without_records_says_so(site: Site) -> None:
    card = widget(site.browser("admin").get("/dashboards/campaign_response").text, "members_by_status")
    assert "No records to show yet." in card and "<svg" not in card


# -- administrators edit a dashboard ----------------------------------------------------------------


def _form_of(page: str) -> dict[str, str]:
    """The edit form's fields as a browser would post them unchanged."""
    form = page[page.index('<form class="card dashboard-form"'):]
    form = form[: form.index("</form>")]
    data = {}
    for tag in re.findall(r'<input type="(?:hidden|text|number)"[^>]*>', form):
        data[re.search(r'name="([^"]+)"', tag).group(1)] = unescape(re.search(r'value="([^"]*)"', tag).group(1))
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        data[name] = unescape(chosen.group(1)) if chosen else re.search(r'<option value="([^"]*)"', body).group(1)
    for tag in re.findall(r'<input type="checkbox"[^>]*checked>', form):
        data[re.search(r'name="([^"]+)"', tag).group(1)] = "true"
    for name, body in re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = unescape(body)
    return data


def _row_of(data: dict[str, str], key: str) -> str:
    return next(name.split("-")[1] for name, value in data.items() if name.endswith("-key") and value == key)


def test_only_administrators_edit_dashboards(site: Site) -> None:
    assert site.browser("manager").get("/dashboards/service_desk/edit").status_code == 403
    assert "Edit dashboard" not in site.browser("manager").get("/dashboards/service_desk").text
    page = site.browser("admin").get("/dashboards/service_desk/edit")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert "Add a widget" in page.text


def test_an_administrator_changes_removes_and_reorders_widgets_then_resets(site: Site) -> None:
    client = site.browser("admin")
    data = _form_of(client.get("/dashboards/sales_pipeline/edit").text)
    assert data["label"] == "Sales pipeline" and data[f"w-{_row_of(data, 'pipeline_funnel')}-chart"] == "funnel"
    funnel, stages, opened = _row_of(data, "pipeline_funnel"), _row_of(data, "opportunities_by_stage"), _row_of(data, "open_pipeline")
    data.update({"label": "Pipeline (edited)", f"w-{stages}-chart": "donut", f"w-{stages}-position": "0",
                 f"w-{funnel}-filter": "stage = 'proposal'", f"w-{opened}-remove": "true"})
    new = max(int(name.split("-")[1]) for name in data if name.startswith("w-"))
    data.update({f"w-{new}-title": "Deals per owner", f"w-{new}-entity": "opportunity", f"w-{new}-chart": "bar",
                 f"w-{new}-group_by": "owner_id"})
    with site.installed.engine.connect() as connection:
        version = current_metadata_version(connection)
    response = client.post("/dashboards/sales_pipeline/edit", data=data)
    assert response.status_code == 303, re.findall(r"<li>(?:<a [^>]*>)?([^<]*)", response.text[response.text.find("error-summary"):])[:5]
    with site.installed.engine.connect() as connection:
        layers = connection.execute(select(metadata_documents.c.layer, metadata_documents.c.pack).where(
            metadata_documents.c.kind == "dashboard", metadata_documents.c.name == "sales_pipeline")).all()
        assert sorted(layers) == [("admin", "crm"), ("pack", "crm")], "the edit is a layer over the pack's document"
        assert current_metadata_version(connection) > version, "other processes reload"
    page = client.get("/dashboards/sales_pipeline").text
    assert "<h1>Pipeline (edited)</h1>" in page and 'id="widget-open_pipeline"' not in page
    order = re.findall(r'<section class="card widget[^"]*" id="widget-([a-z_]+)"', page)
    assert order[0] == "opportunities_by_stage" and order[-1] == "deals_per_owner"
    assert 'class="chart chart-donut"' in widget(page, "opportunities_by_stage")
    assert table_rows(widget(page, "pipeline_funnel")) == {"Proposal": ["4,200.50 USD", "3"]}
    assert table_rows(widget(page, "deals_per_owner")) == {"Rep1": ["3"], "Rep2": ["3"]}, "users by display name"
    assert "Pipeline (edited)" in site.browser("rep1").get("/dashboards").text, "every reader sees the edit"
    edit = client.get("/dashboards/sales_pipeline/edit").text
    assert client.post("/dashboards/sales_pipeline/reset", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', edit).group(1)}).status_code == 303
    assert "<h1>Sales pipeline</h1>" in client.get("/dashboards/sales_pipeline").text


def test_an_edit_is_checked_like_the_pack_file_with_errors_next_to_the_inputs(site: Site) -> None:
    client = site.browser("admin")
    data = _form_of(client.get("/dashboards/service_desk/edit").text)
    priority = _row_of(data, "open_by_priority")
    data.update({f"w-{priority}-filter": "status = 'open' and priorty = 'high'", f"w-{priority}-group_by": "subjekt",
                 "label": ""})
    response = client.post("/dashboards/service_desk/edit", data=data)
    assert response.status_code == 422
    page = response.text
    filter_error = page[page.index(f'id="w-{priority}-filter-error"'):][:400]
    assert "1:21: unknown field &#39;priorty&#39; on case (did you mean &#39;priority&#39;?)" in filter_error
    assert "has no field &#39;subjekt&#39;" in page[page.index(f'id="w-{priority}-group_by-error"'):][:300]
    assert 'role="alert"' in page and f'href="#w-{priority}-filter"' in page, "a summary links to each input"
    assert "status = &#39;open&#39; and priorty = &#39;high&#39;" in page, "what was typed is shown back"
    assert "<h1>Service desk</h1>" in client.get("/dashboards/service_desk").text, "nothing was saved"


def test_an_edit_without_the_form_token_is_refused(site: Site) -> None:
    response = site.browser("admin").post("/dashboards/service_desk/edit", data={"label": "Hacked"})
    assert response.status_code == 403


def test_a_new_widget_without_an_entity_is_reported_at_its_input(site: Site) -> None:
    client = site.browser("admin")
    data = _form_of(client.get("/dashboards/partner_channel/edit").text)
    new = max(int(name.split("-")[1]) for name in data if name.startswith("w-"))
    assert data[f"w-{new}-entity"] == "", "a new widget starts without an entity"
    data[f"w-{new}-title"] = "Partners by tier"
    response = client.post("/dashboards/partner_channel/edit", data=data)
    assert response.status_code == 422
    error = response.text[response.text.index(f'id="w-{new}-entity-error"'):][:300]
    assert "missing property &#39;entity&#39;" in error
    assert 'value="partners_by_tier"' not in response.text and "Partners by tier" in response.text
