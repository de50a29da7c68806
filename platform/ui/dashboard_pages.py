"""``/dashboards`` (the dashboards a reader can use), ``/dashboards/{name}`` (one dashboard's grid of charts) and
``/dashboards/{name}/edit`` (administrators change it; their version is stored over the pack's).

Charts are SVG drawn on the server, so the numbers are on the page without
JavaScript; each widget also has its data table, and every number links to
the list of the records it counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import RedirectResponse, Response

from xrm.metadata.dashboard_store import (
    dashboard_document,
    dashboard_document_problems,
    reset_dashboard,
    save_admin_dashboard,
)
from xrm.metadata.dashboards import Dashboard
from xrm.runtime.permissions import entity_access
from xrm.runtime.record_errors import Forbidden, NotFound
from xrm.ui.dashboard_form import WidgetRow, parse_form, place_problems, rows_for, widget_values
from xrm.ui.dashboard_widgets import widget_view
from xrm.ui.page_calls import PageCall


@dataclass(frozen=True)
class DashboardLink:
    name: str
    label: str
    description: str | None
    pack: str
    href: str
    widgets: int


def readable_widgets(call: PageCall, dashboard: Dashboard) -> int:
    catalog, actor = call.model.catalog, call.context.actor
    return sum(1 for w in dashboard.widgets
               if w.entity in catalog.entities and entity_access(catalog, actor, w.entity).allows("read"))


def visible_dashboards(call: PageCall) -> list[DashboardLink]:
    """The dashboards with at least one widget over an entity the reader may read, by label."""
    catalog = call.model.catalog
    links = []
    for dashboard in catalog.dashboards.values():
        count = readable_widgets(call, dashboard)
        if count:
            pack = catalog.packs.get(catalog.owner("dashboard", dashboard.name) or "")
            links.append(DashboardLink(dashboard.name, dashboard.label, dashboard.description,
                                       pack.label if pack else "", f"/dashboards/{dashboard.name}", count))
    return sorted(links, key=lambda link: (link.pack.lower(), link.label.lower()))


def dashboards_page(call: PageCall) -> Response:
    """Every dashboard the reader can use."""
    return call.render("dashboards.html", {"dashboards": visible_dashboards(call)})


def find_dashboard(call: PageCall) -> Dashboard:
    dashboard = call.model.catalog.dashboards.get(call.param("name"))
    if dashboard is None or not readable_widgets(call, dashboard):
        raise NotFound("there is no such dashboard")
    return dashboard


def dashboard_page(call: PageCall) -> Response:
    """One dashboard: a card per widget with its chart and data table."""
    dashboard = find_dashboard(call)
    widgets = [widget_view(call, widget, f"widget-{widget.name}") for widget in dashboard.widgets]
    return call.render("dashboard.html", {
        "dashboard": dashboard, "widgets": widgets,
        "edit_href": f"/dashboards/{dashboard.name}/edit" if call.context.actor.is_admin else None,
    })


# -- administrators edit a dashboard ---------------------------------------------------------------


def _editable(call: PageCall) -> tuple[str, Mapping[str, Any], bool]:
    if not call.context.actor.is_admin:
        raise Forbidden("only administrators edit dashboards")
    name = call.param("name")
    stored = dashboard_document(call.connection, name)
    if stored is None:
        raise NotFound("there is no such dashboard")
    return name, stored[0], stored[1]


def _edit_page(call: PageCall, name: str, label: str, description: str, rows: list[WidgetRow], customized: bool,
               general: Mapping[str, list[str]] | None = None, status: int = 200) -> Response:
    general = general or {}
    errors = [{"text": text, "href": f"#{key}" if key in ("label", "description") else None}
              for key, texts in general.items() for text in texts]
    errors += [{"text": f"{row.legend} · {field.label}: {text}", "href": f"#{field.id}"}
               for row in rows for field in row.inputs for text in field.errors]
    return call.render("dashboard_edit.html", {
        "name": name, "label": label, "description": description, "rows": rows, "errors": errors,
        "general": general, "customized": customized, "action": f"/dashboards/{name}/edit",
        "reset_action": f"/dashboards/{name}/reset", "cancel_href": f"/dashboards/{name}",
    }, status=status)


def _blank_row(position: int) -> dict[str, str]:
    return {"measure": "count", "chart": "bar", "width": "1", "position": str(position)}


def edit_dashboard_form(call: PageCall) -> Response:
    """The dashboard's title and widgets as a form (administrators)."""
    name, stored, customized = _editable(call)
    widgets = stored.get("widgets", [])
    values = {row: widget_values(widget, row + 1) for row, widget in enumerate(widgets)}
    values[len(widgets)] = _blank_row(len(widgets) + 1)
    keys = {row: widget["name"] for row, widget in enumerate(widgets)}
    rows = rows_for(values, keys, call.model.catalog.entities)
    return _edit_page(call, name, stored.get("label", ""), stored.get("description", ""), rows, customized)


def save_dashboard(call: PageCall) -> Response:
    """Check the posted dashboard like a pack file; store it as the administrators' version, or show the problems."""
    name, stored, customized = _editable(call)
    assert call.form is not None
    posted = parse_form(call.form, stored)
    problems = dashboard_document_problems(posted.document, name, call.model.catalog.entities)
    if not problems:
        save_admin_dashboard(call.connection, posted.document, call.context)
        return RedirectResponse(f"/dashboards/{name}", status_code=303)
    placed, general = place_problems(problems, posted)
    rows = rows_for(posted.values, posted.keys, call.model.catalog.entities, placed)
    return _edit_page(call, name, posted.document.get("label", ""), posted.document.get("description", ""), rows,
                      customized, general, status=422)


def reset_dashboard_page(call: PageCall) -> Response:
    """Drop the administrators' version: the pack's dashboard shows again."""
    name, _stored, _customized = _editable(call)
    reset_dashboard(call.connection, name)
    return RedirectResponse(f"/dashboards/{name}", status_code=303)
