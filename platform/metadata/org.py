"""The organization model: the platform's own entities (users, teams, queues, business calendars).

They are declared like any pack entity (the documents below pass the same
JSON Schema and are built by the same builder), belong to the pseudo-pack
``platform``, and are always part of the catalog, so packs can point lookups at
them (``case.queue``, ``sla_policy.calendar``) and roles can grant access to
them.  Their tables are created by the platform migrations (revision 0003),
not by pack installs, and carry the ``xrm_`` prefix; the ``user`` entity *is*
the ``xrm_users`` table that sign-in and every owner column use.  Records go
through the one write path like any other: audited, permission-checked.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

from xrm.metadata.builder import build_entity
from xrm.metadata.catalog import Catalog, InstalledPack
from xrm.metadata.model import Entity
from xrm.metadata.org_tables import PLATFORM_PACK, TABLES

PLATFORM_VERSION = "1.0.0"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_HOURS_HELP = "Working hours that day, e.g. 09:00-12:00, 13:00-17:00; empty: not a working day."

DOCUMENTS: tuple[dict[str, Any], ...] = (
    {
        "name": "user", "label": "User", "plural_label": "Users", "display_field": "display_name",
        "description": "A person who signs in. Passwords, roles and API tokens are set with the xrm user command.",
        "fields": [
            {"name": "username", "type": "text", "label": "User Name", "required": True, "unique": True,
             "max_length": 150},
            {"name": "display_name", "type": "text", "label": "Name", "required": True, "max_length": 200},
            {"name": "email", "type": "email", "label": "E-mail", "max_length": 254},
            {"name": "is_active", "type": "boolean", "label": "Active", "required": True, "default": True,
             "help_text": "Inactive users cannot sign in and are skipped by assignment."},
            {"name": "is_admin", "type": "boolean", "label": "Administrator", "required": True, "default": False},
            {"name": "manager", "type": "user", "label": "Manager", "on_delete": "set_null"},
            {"name": "time_zone", "type": "text", "label": "Time Zone", "default": "UTC", "max_length": 64,
             "help_text": "An IANA time zone such as Europe/Berlin."},
            {"name": "calendar", "type": "lookup", "label": "Working Calendar", "target": "business_calendar",
             "on_delete": "set_null"},
            {"name": "out_of_office_from", "type": "datetime", "label": "Out of Office From"},
            {"name": "out_of_office_to", "type": "datetime", "label": "Out of Office Until"},
        ],
        "validations": [
            {"name": "absence_in_order", "fields": ["out_of_office_to"],
             "check": "out_of_office_from is empty or out_of_office_to is empty or out_of_office_to > out_of_office_from",
             "message": "The end of the absence must come after its start."},
        ],
    },
    {
        "name": "team", "label": "Team", "plural_label": "Teams", "display_field": "label",
        "description": "People who work together; a role's 'team' scope reaches the records of team mates.",
        "fields": [
            {"name": "name", "type": "text", "label": "Name", "required": True, "unique": True, "max_length": 63},
            {"name": "label", "type": "text", "label": "Label", "required": True, "max_length": 200},
            {"name": "lead", "type": "user", "label": "Team Lead", "on_delete": "set_null"},
            {"name": "description", "type": "long_text", "label": "Description"},
        ],
    },
    {
        "name": "team_member", "label": "Team Member", "plural_label": "Team Members", "display_field": "user",
        "fields": [
            {"name": "team", "type": "lookup", "label": "Team", "target": "team", "required": True,
             "on_delete": "cascade"},
            {"name": "user", "type": "user", "label": "User", "required": True, "on_delete": "cascade"},
        ],
        "unique_together": [["team", "user"]],
    },
    {
        "name": "queue", "label": "Queue", "plural_label": "Queues", "display_field": "label",
        "description": "A shared work queue: records owned by the queue wait for a member to claim them.",
        "fields": [
            {"name": "name", "type": "text", "label": "Name", "required": True, "unique": True, "max_length": 63},
            {"name": "label", "type": "text", "label": "Label", "required": True, "max_length": 200},
            {"name": "entity", "type": "text", "label": "Holds", "max_length": 63,
             "help_text": "The entity whose records this queue holds, e.g. case."},
            {"name": "email", "type": "email", "label": "Queue E-mail", "unique": True},
            {"name": "default_owner", "type": "user", "label": "Default Owner", "on_delete": "set_null"},
            {"name": "manager", "type": "user", "label": "Queue Manager", "on_delete": "set_null"},
            {"name": "escalation_queue", "type": "lookup", "label": "Escalation Queue", "target": "queue",
             "on_delete": "set_null"},
            {"name": "assignment_method", "type": "picklist", "label": "Assignment Method", "default": "manual",
             "options": [{"value": "manual", "label": "Members claim records"},
                         {"value": "round_robin", "label": "Round robin"},
                         {"value": "least_loaded", "label": "Least loaded"}]},
            {"name": "max_open_per_member", "type": "integer", "label": "Max Open per Member"},
            {"name": "active", "type": "boolean", "label": "Active", "default": True},
            {"name": "description", "type": "long_text", "label": "Description"},
        ],
    },
    {
        "name": "queue_member", "label": "Queue Member", "plural_label": "Queue Members", "display_field": "user",
        "fields": [
            {"name": "queue", "type": "lookup", "label": "Queue", "target": "queue", "required": True,
             "on_delete": "cascade"},
            {"name": "user", "type": "user", "label": "User", "required": True, "on_delete": "cascade"},
        ],
        "unique_together": [["queue", "user"]],
    },
    {
        "name": "business_calendar", "label": "Business Calendar", "plural_label": "Business Calendars",
        "display_field": "name",
        "description": "Working hours per weekday and holidays in a time zone; SLAs and rules count business time with it.",
        "fields": [
            {"name": "name", "type": "text", "label": "Name", "required": True, "unique": True, "max_length": 100},
            {"name": "time_zone", "type": "text", "label": "Time Zone", "required": True, "default": "UTC",
             "max_length": 64, "help_text": "An IANA time zone such as Europe/Berlin."},
            *({"name": day, "type": "text", "label": day.title(), "max_length": 100, "help_text": _HOURS_HELP}
              for day in WEEKDAYS),
            {"name": "description", "type": "long_text", "label": "Description"},
        ],
    },
    {
        "name": "calendar_holiday", "label": "Holiday", "plural_label": "Holidays", "display_field": "name",
        "fields": [
            {"name": "calendar", "type": "lookup", "label": "Calendar", "target": "business_calendar",
             "required": True, "on_delete": "cascade"},
            {"name": "date", "type": "date", "label": "Date", "required": True},
            {"name": "name", "type": "text", "label": "Name", "required": True},
        ],
        "unique_together": [["calendar", "date"]],
    },
    {
        "name": "user_capacity", "label": "User Capacity", "plural_label": "User Capacities", "display_field": "entity",
        "description": "How many open records of an entity a user may hold; assignment skips users at their cap.",
        "fields": [
            {"name": "user", "type": "user", "label": "User", "required": True, "on_delete": "cascade"},
            {"name": "entity", "type": "text", "label": "Entity", "required": True, "max_length": 63},
            {"name": "max_open", "type": "integer", "label": "Max Open", "required": True},
        ],
        "unique_together": [["user", "entity"]],
        "validations": [{"name": "max_open_positive", "check": "max_open >= 0", "fields": ["max_open"],
                         "message": "The capacity cannot be negative."}],
    },
    {
        "name": "approval_request", "label": "Approval Request", "plural_label": "Approval Requests",
        "display_field": "summary",
        "description": "A workflow transition waiting for an approver's decision.",
        "fields": [
            {"name": "summary", "type": "text", "label": "Summary", "required": True},
            {"name": "entity", "type": "text", "label": "Entity", "required": True, "max_length": 63},
            {"name": "record_id", "type": "integer", "label": "Record", "required": True},
            {"name": "workflow", "type": "text", "label": "Workflow", "required": True, "max_length": 63},
            {"name": "transition", "type": "text", "label": "Transition", "required": True, "max_length": 63},
            {"name": "from_state", "type": "text", "label": "From State", "max_length": 63},
            {"name": "requested_by", "type": "user", "label": "Requested By", "on_delete": "set_null"},
            {"name": "approver", "type": "user", "label": "Approver", "on_delete": "set_null"},
            {"name": "approver_role", "type": "text", "label": "Approver Role", "max_length": 63},
            {"name": "approver_queue", "type": "lookup", "label": "Approver Queue", "target": "queue",
             "on_delete": "set_null"},
            {"name": "status", "type": "picklist", "label": "Status", "required": True, "default": "pending",
             "options": [{"value": "pending", "label": "Pending"}, {"value": "approved", "label": "Approved"},
                         {"value": "rejected", "label": "Rejected"}, {"value": "expired", "label": "Expired"}]},
            {"name": "comment", "type": "long_text", "label": "Comment"},
            {"name": "decided_by", "type": "user", "label": "Decided By", "on_delete": "set_null"},
            {"name": "decided_at", "type": "datetime", "label": "Decided At"},
            {"name": "expires_at", "type": "datetime", "label": "Expires At"},
        ],
        "indexes": [{"fields": ["entity", "record_id"]}, {"fields": ["status"]}],
    },
    {
        "name": "notification", "label": "Notification", "plural_label": "Notifications", "display_field": "title",
        "description": "An in-app message to one user (its owner).",
        "fields": [
            {"name": "title", "type": "text", "label": "Title", "required": True},
            {"name": "body", "type": "long_text", "label": "Message"},
            {"name": "entity", "type": "text", "label": "About Entity", "max_length": 63},
            {"name": "record_id", "type": "integer", "label": "About Record"},
            {"name": "read_at", "type": "datetime", "label": "Read At"},
        ],
    },
)

ORG_ENTITIES: tuple[Entity, ...] = tuple(
    replace(build_entity(doc, PLATFORM_PACK), table=TABLES[doc["name"]]) for doc in DOCUMENTS
)


def platform_catalog() -> Catalog:
    """The catalog before any pack: the organization model."""
    return Catalog(
        packs={PLATFORM_PACK: InstalledPack(PLATFORM_PACK, PLATFORM_VERSION, "Platform",
                                            "Users, teams, queues, business calendars, approvals and notifications")},
        entities={e.name: e for e in ORG_ENTITIES},
    )


ORG_ENTITY_NAMES = MappingProxyType({e.name: e for e in ORG_ENTITIES})
