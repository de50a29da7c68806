"""Saved views: a list's columns, filter, sort and search, saved by a person under a name.

A view is personal (only its owner sees it) or shared (everyone who may read
the entity sees it).  Saving checks the view the way a list request is
checked — columns, the filter expression and the sort against the entity as
the saver sees it — so a saved view always runs.  Only its owner (or an
administrator) changes or deletes it; only administrators and holders of the
entity's ``all`` read scope may share one, since a shared view shows up in
everyone's list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from xrm.context import Context
from xrm.runtime.queries import ListQuery, ListRequest
from xrm.runtime.record_errors import Forbidden, Invalid, NotFound
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel
from xrm.system_tables import saved_views

MAX_NAME = 100


@dataclass(frozen=True)
class SavedView:
    id: int
    entity: str
    name: str
    owner_id: int
    shared: bool
    columns: tuple[str, ...]
    filter: str | None
    sort: str | None
    q: str | None

    def mine(self, context: Context) -> bool:
        return self.owner_id == context.actor.user_id


def _view(row: Any) -> SavedView:
    return SavedView(row.id, row.entity, row.name, row.owner_id, row.shared, tuple(row.columns), row.filter, row.sort,
                     row.q)


def views_for(connection: Connection, context: Context, entity: str) -> list[SavedView]:
    """The caller's own views of ``entity`` and the shared ones, by name."""
    statement = select(saved_views).where(saved_views.c.entity == entity, or_(
        saved_views.c.owner_id == context.actor.user_id, saved_views.c.shared.is_(True))).order_by(
        saved_views.c.name, saved_views.c.id)
    return [_view(row) for row in connection.execute(statement)]


def get_view(connection: Connection, context: Context, view_id: int) -> SavedView:
    row = connection.execute(select(saved_views).where(saved_views.c.id == view_id)).first()
    if row is None or not (row.shared or row.owner_id == context.actor.user_id):
        raise NotFound(f"there is no saved view with id {view_id}")
    return _view(row)


def save_view(connection: Connection, model: RecordModel, context: Context, entity: str, name: str, *,
              columns: Sequence[str], filter: str | None = None, sort: str | None = None, q: str | None = None,
              shared: bool = False) -> SavedView:
    """Save (or replace, by name) the caller's view of ``entity``; every problem is a field error."""
    if context.actor.user_id is None:
        raise Forbidden("only people save views")
    name = name.strip()
    errors = []
    if not name or len(name) > MAX_NAME:
        errors.append(FieldError("name", f"give the view a name of at most {MAX_NAME} characters", "required"))
    query = _checked(model, context, entity, filter, sort, q, errors)
    readable = [f.name for f in query.entity.fields if query.access.can_read_field(f.name)] if query else []
    unknown = [c for c in columns if c not in readable]
    if unknown or not columns:
        errors.append(FieldError("columns", "choose columns among the fields you can see"
                                 + (f" (not: {', '.join(unknown)})" if unknown else ""), "columns"))
    if shared and not (context.actor.is_admin or (query is not None and query.access.read == "all")):
        errors.append(FieldError("shared", "only people who see every record may share a view", "not_permitted"))
    if errors:
        raise Invalid("the view was not saved", errors)
    values = {"columns": list(columns), "filter": filter or None, "sort": sort or None, "q": q or None,
              "shared": shared, "updated_at": context.now}
    existing = connection.execute(select(saved_views.c.id).where(
        saved_views.c.entity == entity, saved_views.c.owner_id == context.actor.user_id,
        saved_views.c.name == name)).scalar()
    if existing is not None:
        connection.execute(update(saved_views).where(saved_views.c.id == existing).values(**values))
        view_id = existing
    else:
        view_id = connection.execute(insert(saved_views).values(
            entity=entity, name=name, owner_id=context.actor.user_id, created_at=context.now, **values,
        ).returning(saved_views.c.id)).scalar_one()
    return get_view(connection, context, view_id)


def delete_view(connection: Connection, context: Context, view_id: int) -> None:
    view = get_view(connection, context, view_id)
    if not (view.mine(context) or context.actor.is_admin):
        raise Forbidden("only its owner deletes a saved view")
    connection.execute(delete(saved_views).where(saved_views.c.id == view.id))


def _checked(model: RecordModel, context: Context, entity: str, filter: str | None, sort: str | None, q: str | None,
             errors: list[FieldError]) -> ListQuery | None:
    try:
        return ListQuery(model, context, entity, ListRequest(filter=filter or None, sort=sort or None, search=q or None))
    except Invalid as error:
        errors.extend(error.errors)
    return None
