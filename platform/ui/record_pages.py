"""``/app/{entity}/{id}``: one record's 360° view — its fields, the records pointing to it, and its timeline.

The timeline merges the audit log (who changed what, through which channel)
with the rules' decision trace (which rule did what, and why), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field
from xrm.rules.trace import trace_of
from xrm.runtime.audit import AuditEntry, timeline
from xrm.runtime.queries import SYSTEM_FIELDS, ListQuery, ListRequest
from xrm.runtime.record_model import Reference
from xrm.ui.display import EMPTY, Cell, Names, display_text, is_empty, record_name, when_text
from xrm.ui.list_pages import entity_views
from xrm.ui.page_calls import PageCall
from xrm.ui.workflow_pages import transition_buttons

RELATED_ROWS = 5
RELATED_COLUMNS = 4
TIMELINE_LENGTH = 100
#: How an audit action reads on the timeline.
ACTION_TITLES = {"create": "Created", "update": "Updated", "delete": "Deleted", "transition": "Moved on",
                 "approval": "Approval"}
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


@dataclass(frozen=True)
class Change:
    label: str
    old: Cell | None
    new: Cell


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # "change" or "rule"
    title: str
    actor: str
    summary: str | None
    changes: tuple[Change, ...] = ()
    #: a creation lists every field set: shown folded
    collapsed: bool = False
    #: the reader's time zone
    zone: str = "UTC"

    @property
    def when(self) -> str:
        return when_text(self.at, self.zone)

    @property
    def iso(self) -> str:
        return self.at.isoformat()


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


def _value_cell(field: Field | None, value: Any, names: Names) -> Cell:
    """An audited (JSON) value as it reads on the page."""
    if field is None or is_empty(value):
        return EMPTY if is_empty(value) else Cell(str(value))
    if names.target(field) is not None:
        return names.cell(field, value)
    try:
        return Cell(display_text(field, get_field_type(field.type).coerce(value, field), names.actor.time_zone))
    except (FieldValueError, TypeError, ValueError):
        return Cell(str(value))


def _audit_events(entity: Entity, entries: list[AuditEntry], names: Names) -> list[Event]:
    for entry in entries:
        names.want(SYSTEM_FIELDS["created_by"], entry.actor_id)
        for change in entry.changes:
            field = entity.field(change.field) or SYSTEM_FIELDS.get(change.field)
            if field is not None:
                names.want(field, change.old)
                names.want(field, change.new)
    events = []
    for entry in entries:
        actor = names.cell(SYSTEM_FIELDS["created_by"], entry.actor_id) if entry.actor_id else Cell(entry.actor)
        changes = []
        for change in entry.changes:
            field = entity.field(change.field) or SYSTEM_FIELDS.get(change.field)
            changes.append(Change(field.label if field else change.field,
                                  None if entry.action == "create" else _value_cell(field, change.old, names),
                                  _value_cell(field, change.new, names)))
        title = f"{ACTION_TITLES.get(entry.action, entry.action.title())} via {entry.source}"
        events.append(Event(entry.at, "change", title, actor.text, entry.note, tuple(changes),
                            collapsed=entry.action == "create", zone=names.actor.time_zone))
    return events


def _rule_events(decisions: list[dict[str, Any]], zone: str) -> list[Event]:
    events = []
    for decision in decisions:
        at = datetime.fromisoformat(decision["at"])
        title = f"Rule \u201c{decision['rule']}\u201d" + ("" if decision["fired"] else " (did not fire)")
        events.append(Event(at, "rule", title, decision["actor"], decision["summary"], zone=zone))
    return events


def _timeline(call: PageCall, entity: Entity, record_id: int) -> list[Event]:
    access = call.service.access(call.context.actor, entity.name)
    names = Names(call.connection, call.model, call.context.actor)
    audit = _audit_events(entity, timeline(call.connection, entity.name, record_id,
                                           hidden_fields=access.hidden_fields, limit=TIMELINE_LENGTH), names)
    rules = _rule_events(trace_of(call.connection, entity.name, record_id, hidden=frozenset(access.hidden_fields),
                                  related=call.context.actor.is_admin), call.context.actor.time_zone)
    # newest first; at the same instant the rules' decisions come after (so above) the change that ran them
    merged = sorted([*((e, 0) for e in audit), *((e, 1) for e in rules)],
                    key=lambda pair: (pair[0].at, pair[1]), reverse=True)
    return [event for event, _ in merged][:TIMELINE_LENGTH]


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
        "events": _timeline(call, entity, record_id),
        "transitions": transition_buttons(call, entity, record_id), "version": record.get("version"),
        "edit_href": f"/app/{entity.name}/{record_id}/edit"
        if call.service.may_change(call.connection, call.context, entity.name, record_id, "update") else None,
    })
