"""What every signed-in page shows around its content: navigation by pack, the user, unread notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from xrm.context import Actor
from xrm.metadata.org_tables import PLATFORM_PACK
from xrm.runtime.permissions import entity_access
from xrm.runtime.record_model import RecordModel

if TYPE_CHECKING:
    from xrm.ui.page_calls import PageCall

#: Entities with a page of their own instead of a place in the navigation.
OWN_PAGES = frozenset({"notification"})


@dataclass(frozen=True)
class NavEntity:
    name: str
    label: str
    href: str


@dataclass(frozen=True)
class NavGroup:
    name: str
    label: str
    entities: tuple[NavEntity, ...]


def navigation(model: RecordModel, actor: Actor) -> tuple[NavGroup, ...]:
    """The entities ``actor`` may read, grouped by pack (the packs first, the platform's own last)."""
    return model.memo(("ui_nav", actor.is_admin, actor.roles, actor.user_id is None),
                      lambda: _navigation(model, actor))


def _navigation(model: RecordModel, actor: Actor) -> tuple[NavGroup, ...]:
    catalog = model.catalog
    packs = sorted(catalog.packs.values(), key=lambda p: (p.name == PLATFORM_PACK, p.label.lower()))
    groups = []
    for pack in packs:
        entities = tuple(
            NavEntity(e.name, e.plural_label, f"/app/{e.name}")
            for e in sorted(catalog.entities.values(), key=lambda e: e.plural_label.lower())
            if e.pack == pack.name and e.name not in OWN_PAGES
            and entity_access(catalog, actor, e.name).allows("read")
        )
        if entities:
            groups.append(NavGroup(pack.name, pack.label, entities))
    return tuple(groups)


def unread_notifications(call: PageCall) -> int:
    """How many of the user's own notifications are unread (an administrator's too: only their own)."""
    table = call.model.table("notification")
    statement = select(func.count()).select_from(table).where(
        table.c.owner_id == call.context.actor.user_id, table.c.read_at.is_(None))
    return call.connection.execute(statement).scalar_one()


def user_name(call: PageCall) -> str:
    users = call.model.users_table
    actor = call.context.actor
    name = call.connection.execute(select(users.c.display_name).where(users.c.id == actor.user_id)).scalar()
    return name or actor.name


def layout_values(call: PageCall) -> dict[str, Any]:
    return {
        "nav": navigation(call.model, call.context.actor),
        "current_entity": call.request.path_params.get("entity"),
        "user_name": user_name(call),
        "unread": unread_notifications(call),
        "htmx_url": call.request.app.state.htmx_url,
        "time_zone": call.context.actor.time_zone,
        #: the rule designers' tools, for administrators only
        "is_admin": call.context.actor.is_admin,
    }
