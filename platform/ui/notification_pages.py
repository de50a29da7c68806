"""``/notifications``: the signed-in user's own notifications, newest first (``?unread=1``: only unread ones)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from xrm.runtime.queries import ListQuery, ListRequest
from xrm.ui.display import when_text
from xrm.ui.page_calls import PageCall

PAGE_SIZE = 25


@dataclass(frozen=True)
class Notification:
    title: str
    body: str | None
    when: str
    unread: bool
    #: the record it is about, when there is one
    href: str | None


def notifications_page(call: PageCall) -> Response:
    """The user's notifications; an administrator too sees only their own here."""
    params = call.request.query_params
    unread_only = params.get("unread") == "1"
    raw_offset = params.get("offset", "")
    offset = int(raw_offset) if raw_offset.isascii() and raw_offset.isdigit() else 0
    condition = f"owner_id = {int(call.context.actor.user_id or 0)}" + (" and read_at is empty" if unread_only else "")
    page = ListQuery(call.model, call.context, "notification",
                     ListRequest(filter=condition, sort="-created_at,-id", limit=PAGE_SIZE, offset=offset)).run(call.connection)
    entities = call.model.catalog.entities
    items = [
        Notification(
            row["title"], row.get("body"), when_text(row["created_at"], call.context.actor.time_zone),
            row.get("read_at") is None,
            f"/app/{row['entity']}/{row['record_id']}" if row.get("entity") in entities and row.get("record_id") else None)
        for row in page.items
    ]
    base = "/notifications" + ("?unread=1&" if unread_only else "?")
    total = page.total or 0
    return call.render("notifications.html", {
        "items": items, "unread_only": unread_only, "total": total,
        "previous_href": f"{base}offset={max(offset - PAGE_SIZE, 0)}" if offset else None,
        "next_href": f"{base}offset={offset + PAGE_SIZE}" if offset + len(items) < total else None,
    })
