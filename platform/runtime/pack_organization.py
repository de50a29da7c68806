"""A pack's declared organization (``pack.json`` → ``organization``): the teams, queues and business
calendars its rules name, created on install when they do not exist yet.  People join them later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from xrm.context import Actor, Context
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import Pack
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService
from xrm.system_tables import org_tables

#: manifest key → the platform entity its items are records of
KINDS = {"teams": "team", "queues": "queue", "calendars": "business_calendar"}


def ensure_organization(connection: Connection, pack: Pack, catalog: Catalog, context: Context) -> list[str]:
    """Create the declared teams, queues and calendars that are missing; returns what was created."""
    if not pack.organization:
        return []
    service = RecordService(RecordModel(catalog))
    acting = Context(Actor.system(context.actor.name), "system", context.now)
    created = []
    for key, entity in KINDS.items():
        table = org_tables[entity]
        for item in pack.organization.get(key, ()):
            if connection.execute(select(table.c.id).where(table.c.name == item["name"])).first() is None:
                service.create(connection, acting, entity, _values(item))
                created.append(f"{entity} {item['name']}")
    return created


def _values(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items()}
