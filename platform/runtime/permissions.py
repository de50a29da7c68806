"""What an actor may do with an entity's records, merged over all of the actor's roles.

Roles only grant: a user with several roles may do what any of them allows.
For each action the widest record scope among the roles granting it applies;
a field is hidden (or read-only) only when every role that lets the user read
(or update) the entity hides it (or makes it read-only).  Administrators and
the platform acting for itself may do everything.

These rules are applied inside the record service and the queries, so every
channel (API, UI, import, rules) gets the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, false, or_

from xrm.context import Actor
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import EntityPermission, RecordScope
from xrm.runtime.users import my_queues, team_mates

Action = Literal["create", "read", "update", "delete"]
#: The organization model every signed-in user may read (who is who, which team and queue, which hours);
#: changing it takes an administrator or a role that grants it.
ORG_READABLE = frozenset({"user", "team", "team_member", "queue", "queue_member", "business_calendar",
                          "calendar_holiday", "approval_request"})
ADMIN_ONLY_USER_FIELDS = frozenset({"is_admin", "username"})
_WIDTH: dict[str, int] = {"own": 0, "team": 1, "all": 2}


@dataclass(frozen=True)
class EntityAccess:
    """One actor's rights on one entity; a scope of None means the action is not allowed at all."""

    entity: str
    create: bool
    read: RecordScope | None
    update: RecordScope | None
    delete: RecordScope | None
    hidden_fields: frozenset[str] = frozenset()
    read_only_fields: frozenset[str] = frozenset()

    def scope(self, action: Action) -> RecordScope | None:
        if action == "create":
            return "all" if self.create else None
        return getattr(self, action)

    def allows(self, action: Action) -> bool:
        return self.scope(action) is not None

    def can_read_field(self, name: str) -> bool:
        return name not in self.hidden_fields

    def can_edit_field(self, name: str) -> bool:
        return name not in self.hidden_fields and name not in self.read_only_fields


FULL_ACCESS_SCOPE: RecordScope = "all"


def entity_access(catalog: Catalog, actor: Actor, entity: str) -> EntityAccess:
    """The merged rights of ``actor`` on ``entity`` (see the module docstring)."""
    if actor.is_admin:
        return EntityAccess(entity, True, "all", "all", "all")
    grants = [p for role in sorted(actor.roles) if (r := catalog.roles.get(role))
              for p in r.permissions if p.entity == entity]
    if actor.user_id is not None and entity in ORG_READABLE:
        grants.append(EntityPermission(entity, read=True, scope="all"))
    if actor.user_id is not None and entity == "notification":  # one's own messages: read them, mark them read
        grants.append(EntityPermission(entity, read=True, update=True, scope="own"))

    def widest(action: str) -> RecordScope | None:
        scopes = [p.scope for p in grants if getattr(p, action)]
        return max(scopes, key=_WIDTH.__getitem__) if scopes else None

    read_only = _in_all(set(p.read_only_fields) | set(p.hidden_fields) for p in grants if p.update)
    if entity == "user":  # whoever may edit users, only an administrator makes administrators
        read_only |= ADMIN_ONLY_USER_FIELDS
    return EntityAccess(
        entity,
        create=any(p.create for p in grants),
        read=widest("read"),
        update=widest("update"),
        delete=widest("delete"),
        hidden_fields=_in_all(p.hidden_fields for p in grants if p.read),
        read_only_fields=read_only,
    )


def _in_all(groups: Iterable[Iterable[str]]) -> frozenset[str]:
    sets = [frozenset(g) for g in groups]
    return frozenset.intersection(*sets) if sets else frozenset()


def scope_condition(scope: RecordScope, table: Table, actor: Actor) -> ColumnElement[bool] | None:
    """The SQL condition selecting the records in ``scope`` for ``actor`` (None: every record)."""
    if scope == "all":
        return None
    if actor.user_id is None:
        return false()
    # records waiting in one of the actor's queues are the actor's to see and claim
    own = or_(table.c.owner_id == actor.user_id, table.c.owner_queue_id.in_(my_queues(actor.user_id)))
    if scope == "own":
        return own
    return or_(own, table.c.owner_id.in_(team_mates(actor.user_id)))


def permission_summary(permission: EntityPermission) -> dict[str, Any]:
    """A role's grant on one entity, as the metadata API shows it."""
    return {
        "entity": permission.entity, "create": permission.create, "read": permission.read,
        "update": permission.update, "delete": permission.delete, "scope": permission.scope,
        "hidden_fields": list(permission.hidden_fields), "read_only_fields": list(permission.read_only_fields),
    }
