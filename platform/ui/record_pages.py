"""``/app/{entity}/{id}``: one record's 360° view — its fields, the records pointing to it, and its timeline.

The timeline (``xrm.ui.timeline``) merges the audit log, the rules' decision
trace, the records linked to this one and the notifications about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from xrm.metadata.model import Entity
from xrm.runtime.queries import SYSTEM_FIELDS, ListQuery, ListRequest
from xrm.runtime.record_model import Reference
from xrm.ui.display import Cell, Names, record_name
from xrm.ui.list_state import entity_views
from xrm.ui.page_calls import PageCall
from xrm.ui.timeline import record_timeline
from xrm.ui.workflow_pages import transition_buttons

RELATED_ROWS = 5
RELATED_COLUMNS = 4
#: The record's own system columns, shown below its fields.
SYSTEM_ROWS = (("owner_id", "Owner"), ("owner_queue_id", "Queue"), ("created_at", "Created"),
               ("created_by", "Created by"), ("updated_at", "Last changed"), ("updated_by", "Last changed by"))


@dataclass(frozen=True)
class Pair:
    label: str
    cell: Cell
    wide: bool = False


@dataclass(frozen=True)
class RelatedList:
    id: str
    title: str
    total: int
    headers: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]
    more_href: str | None


def _pairs(entity: Entity, record: dict[str, Any], names: Names) -> tuple[list[Pair], list[Pair]]:
    fields = [f for f in entity.fields if f.name in record and not f.hidden]
    system = [(SYSTEM_FIELDS[n], label) for n, label in SYSTEM_ROWS if n in record]
    names.want_rows([*fields, *(f for f, _ in system)], [record])
    main = [Pair(f.label, names.cell(f, record[f.name]), wide=f.type == "long_text") for f in fields]
    return main, [Pair(label, names.cell(f, record[f.name])) for f, label in system]


def _related(call: PageCall, parent: Entity, reference: Reference, record_id: int) -> RelatedList | None:
    access = call.service.access(call.context.actor, reference.entity)
    if not access.allows("read") or not access.can_read_field(reference.field.name):
        return None
    child = call.model.entity(reference.entity)
    view = next(iter(entity_views(call, child.name)), None)
    names = [n for n in (view.columns if view else [f.name for f in child.fields])
             if n != reference.field.name and access.can_read_field(n)][:RELATED_COLUMNS]
    columns = [f for n in names if (f := child.field(n) or SYSTEM_FIELDS.get(n)) is not None]
    sort = ",".join(("-" if k.descending else "") + k.field for k in view.sort) if view else None
    query = ListQuery(call.model, call.context, child.name,
                      ListRequest(sort=sort or None, limit=RELATED_ROWS), parent=(reference.field.name, record_id))
    page = query.run(call.connection)
    display = Names(call.connection, call.model, call.context.actor)
    display.want_rows(columns, page.items)
    rows = tuple((f"/app/{child.name}/{r['id']}", tuple(display.cell(f, r.get(f.name)) for f in columns))
                 for r in page.items)
    more = f"/app/{child.name}?{urlencode({'filter': f'{reference.field.name} = {record_id}'})}"
    # "Contacts" under an account, "Opportunities (Partner Account)" where a second lookup points here too
    title = child.plural_label if reference.field.label == parent.label else f"{child.plural_label} ({reference.field.label})"
    return RelatedList(f"related-{child.name}-{reference.field.name}", title, page.total or 0,
                       tuple(f.label for f in columns), rows, more if (page.total or 0) > len(rows) else None)


def _related_lists(call: PageCall, entity: Entity, record_id: int) -> list[RelatedList]:
    found = (_related(call, entity, reference, record_id) for reference in call.model.references_to(entity.name))
    return sorted((r for r in found if r is not None), key=lambda r: (r.total == 0, r.title.lower()))


def record_page(call: PageCall) -> Response:
    """The record's fields, related lists and timeline."""
    entity = call.model.entity(call.param("entity"))
    record_id = call.param("id")
    record = call.service.get(call.connection, call.context, entity.name, record_id)
    names = Names(call.connection, call.model, call.context.actor)
    fields, system = _pairs(entity, record, names)
    related = _related_lists(call, entity, record_id)
    return call.render("record.html", {
        "entity": entity, "record_id": record_id, "title": record_name(entity, record),
        "list_href": f"/app/{entity.name}", "fields": fields, "system": system,
        "related": [r for r in related if r.total], "related_empty": [r for r in related if not r.total],
        "events": record_timeline(call, entity, record_id),
        "transitions": transition_buttons(call, entity, record_id), "version": record.get("version"),
        "edit_href": f"/app/{entity.name}/{record_id}/edit"
        if call.service.may_change(call.connection, call.context, entity.name, record_id, "update") else None,
    })
