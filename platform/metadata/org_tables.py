"""Where the platform's own entities keep their records (kept apart so ``tables`` can use it without cycles)."""

from __future__ import annotations

#: The pseudo-pack owning the organization model; every pack sees its entities without depending on it.
PLATFORM_PACK = "platform"

#: entity name → table: the organization model's tables carry the platform's ``xrm_`` prefix.
TABLES: dict[str, str] = {
    "user": "xrm_users", "team": "xrm_teams", "team_member": "xrm_team_members", "queue": "xrm_queues",
    "queue_member": "xrm_queue_members", "business_calendar": "xrm_calendars",
    "calendar_holiday": "xrm_calendar_holidays", "user_capacity": "xrm_user_capacities",
    "approval_request": "xrm_approval_requests", "notification": "xrm_notifications",
}


def table_of(entity_name: str) -> str:
    """The table holding an entity's records (its own name, except for the platform's entities)."""
    return TABLES.get(entity_name, entity_name)
