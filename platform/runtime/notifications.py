"""Telling people: in-app notifications (records of the platform's ``notification`` entity) and
outbound e-mail, recorded in an outbox for a mail relay to send."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection, insert, select

from xrm.context import Actor, Context
from xrm.system_tables import outbox, users


def _elevated(context: Context) -> Context:
    """The platform writes notifications for people, whoever triggered them."""
    return replace(context, actor=Actor.system(context.actor.name))


def notify(service, connection: Connection, context: Context, user_id: int, title: str,  # noqa: ANN001
           body: str, entity: str | None = None, record_id: int | None = None, *, email: bool = False) -> None:
    """An in-app notification, owned by (and so visible to) its recipient; with ``email``, also an
    outbox message when the recipient has an address."""
    service.create(connection, _elevated(context), "notification", {
        "title": title[:255], "body": body, "entity": entity, "record_id": record_id, "owner_id": user_id})
    if email:
        address = connection.execute(select(users.c.email).where(users.c.id == user_id)).scalar()
        if address:
            connection.execute(insert(outbox).values(
                to_user_id=user_id, to_address=address, subject=title[:255], body=body, entity=entity,
                record_id=record_id, status="pending", created_at=context.now))
