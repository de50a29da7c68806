"""A record's activity timeline: what happened to it and around it, merged newest first.

Four sources, each a function over the reader's view of the data:
- the audit log (who changed what, through which channel — api, ui, rule, import);
- the rules' decision trace (which rule did what, and why);
- records linked to it as they were added (tasks, calls, notes, opportunities, cases);
- notifications about it (the reader's own; an administrator's: everyone's).
Each respects the reader's scope and hidden fields, like the lists do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field
from xrm.rules.trace import trace_of
from xrm.runtime.audit import AuditEntry, timeline
from xrm.runtime.queries import SYSTEM_FIELDS, ListQuery, ListRequest
from xrm.ui.display import EMPTY, Cell, Names, display_text, is_empty, record_name, when_text
from xrm.ui.page_calls import PageCall

TIMELINE_LENGTH = 100
#: Linked records of each kind shown on the timeline (the related lists show them all).
RELATED_EVENTS = 20
#: Picklist values a linked record's line shows.
SUMMARY_PICKLISTS = 2
#: Entities whose records point here but are not events (approval requests show as audit entries already).
NOT_ON_TIMELINE = frozenset({"approval_request", "notification"})
#: How an audit action reads on the timeline.
ACTION_TITLES = {"create": "Created", "update": "Updated", "delete": "Deleted", "transition": "Moved on",
                 "approval": "Approval"}


@dataclass(frozen=True)
class Change:
    label: str
    old: Cell | None
    new: Cell


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # "change", "rule", "related" or "notification"
    title: str
    actor: str
    summary: str | None
    changes: tuple[Change, ...] = ()
    #: a creation lists every field set: shown folded
    collapsed: bool = False
    #: the reader's time zone
    zone: str = "UTC"
    #: the record the event is about, when it is another one (a task, a call, an opportunity)
    href: str | None = None

    @property
    def when(self) -> str:
        return when_text(self.at, self.zone)

    @property
    def iso(self) -> str:
        return self.at.isoformat()




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


def record_timeline(call: PageCall, entity: Entity, record_id: int) -> list[Event]:
    """Every source's events, newest first; at the same instant a change comes before (below) what it caused."""
    access = call.service.access(call.context.actor, entity.name)
    names = Names(call.connection, call.model, call.context.actor)
    audit = _audit_events(entity, timeline(call.connection, entity.name, record_id,
                                           hidden_fields=access.hidden_fields, limit=TIMELINE_LENGTH), names)
    rules = _rule_events(trace_of(call.connection, entity.name, record_id, hidden=frozenset(access.hidden_fields),
                                  related=call.context.actor.is_admin), call.context.actor.time_zone)
    related = _related_events(call, entity, record_id, names)
    notes = _notification_events(call, entity, record_id, names)
    # newest first; at the same instant the rules' decisions come after (so above) the change that ran them
    merged = sorted([*((e, 0) for e in audit), *((e, 1) for e in rules), *((e, 2) for e in related),
                     *((e, 3) for e in notes)], key=lambda pair: (pair[0].at, pair[1]), reverse=True)
    return [event for event, _ in merged][:TIMELINE_LENGTH]


def _picklist_summary(readable: list[Field], record: dict[str, Any], names: Names) -> str | None:
    """The related record's first readable picklist values ("Call · Completed"), at a glance."""
    values = [names.cell(f, record.get(f.name)).text for f in readable
              if f.type == "picklist" and not is_empty(record.get(f.name))][:SUMMARY_PICKLISTS]
    return " · ".join(values) or None


def _related_events(call: PageCall, entity: Entity, record_id: int, names: Names) -> list[Event]:
    """Records linked to this one (tasks, calls, notes, opportunities…) as they were added, within the reader's scope."""
    events = []
    for reference in call.model.references_to(entity.name):
        access = call.service.access(call.context.actor, reference.entity)
        if reference.entity in NOT_ON_TIMELINE or not access.allows("read") \
                or not access.can_read_field(reference.field.name):
            continue
        child = call.model.entity(reference.entity)
        page = ListQuery(call.model, call.context, child.name,
                         ListRequest(sort="-created_at", limit=RELATED_EVENTS, with_total=False),
                         parent=(reference.field.name, record_id)).run(call.connection)
        readable = [f for f in child.fields if access.can_read_field(f.name)]
        names.want_rows(readable, page.items)
        for record in page.items:
            names.want(SYSTEM_FIELDS["created_by"], record.get("created_by"))
        for record in page.items:
            creator = names.cell(SYSTEM_FIELDS["created_by"], record.get("created_by"))
            title = f"{child.label} added: {record_name(child, record)}"
            events.append(Event(record["created_at"], "related", title, creator.text,
                                _picklist_summary(readable, record, names),
                                zone=names.actor.time_zone, href=f"/app/{child.name}/{record['id']}"))
    return events


def _notification_events(call: PageCall, entity: Entity, record_id: int, names: Names) -> list[Event]:
    """Notifications about this record the reader may read (their own; all of them for administrators)."""
    condition = f"entity = '{entity.name}' and record_id = {int(record_id)}"
    page = ListQuery(call.model, call.context, "notification",
                     ListRequest(filter=condition, sort="-created_at", limit=RELATED_EVENTS, with_total=False)
                     ).run(call.connection)
    for row in page.items:
        names.want(SYSTEM_FIELDS["owner_id"], row.get("owner_id"))
    return [Event(row["created_at"], "notification",
                  f"Notified {names.cell(SYSTEM_FIELDS['owner_id'], row.get('owner_id')).text}: {row['title']}",
                  "the platform", row.get("body"), zone=names.actor.time_zone)
            for row in page.items]


