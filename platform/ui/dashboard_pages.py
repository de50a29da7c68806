"""``/dashboards`` (the dashboards a reader can use) and ``/dashboards/{name}`` (one dashboard's grid of charts).

Charts are SVG drawn on the server, so the numbers are on the page without
JavaScript; each widget also has its data table, and every number links to
the list of the records it counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from xrm.metadata.dashboards import Dashboard
from xrm.runtime.permissions import entity_access
from xrm.runtime.record_errors import NotFound
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
