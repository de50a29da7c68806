"""``/app/{entity}``: one page of an entity's records — view, quick search, filter expression, sort, paging.

Everything goes through ``xrm.runtime.queries.ListQuery``, the API's query
layer, so the reader's record scope and hidden fields apply.  The page is a
plain GET form and plain links; with htmx the list region (``_list_region.html``)
is fetched and swapped alone, and the address bar follows.

A broken part of the request (a filter that does not check, an unknown sort)
is reported next to its input and left out, so the rest still answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field, ListView
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.queries import SYSTEM_FIELDS, ListQuery, ListRequest, Page
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.workflows import workflows_of
from xrm.ui.board_moves import board_fields
from xrm.ui.display import Cell, Names
from xrm.ui.page_calls import PageCall

PAGE_SIZE = 25
#: Columns shown when an entity has no list view: its first fields.
FALLBACK_COLUMNS = 6


@dataclass(frozen=True)
class ViewOption:
    name: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    #: where clicking the header leads (None: the column cannot be sorted)
    sort_href: str | None
    #: "ascending" / "descending" on the column the list is sorted by, else None
    aria_sort: str | None


@dataclass(frozen=True)
class Row:
    href: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Paging:
    first: int
    last: int
    total: int
    previous_href: str | None
    next_href: str | None


@dataclass(frozen=True)
class ListState:
    """What the reader asked for, as given (the form shows it back)."""

    view: str | None
    q: str
    filter: str
    sort: str
    offset: int

    def params(self, **changes: Any) -> dict[str, str]:
        values = {"view": self.view, "q": self.q, "filter": self.filter, "sort": self.sort, "offset": self.offset,
                  **changes}
        return {k: str(v) for k, v in values.items() if v not in (None, "", 0)}


def _state(call: PageCall) -> ListState:
    params = call.request.query_params
    raw_offset = params.get("offset", "")
    offset = int(raw_offset) if raw_offset.isascii() and raw_offset.isdigit() else 0
    return ListState(params.get("view") or None, params.get("q", "").strip(), params.get("filter", "").strip(),
                     params.get("sort", "").strip(), offset)


def entity_views(call: PageCall, entity: str) -> list[ListView]:
    return sorted((v for v in call.model.catalog.views.values() if v.entity == entity),
                  key=lambda v: (not v.default, v.label.lower()))


def pick_view(views: list[ListView], name: str | None) -> ListView | None:
    chosen = next((v for v in views if v.name == name), None)
    return chosen or (views[0] if views else None)


def _field(entity: Entity, name: str) -> Field | None:
    return entity.field(name) or SYSTEM_FIELDS.get(name)


def view_columns(entity: Entity, view: ListView | None, access: EntityAccess) -> list[Field]:
    names = view.columns if view else tuple(f.name for f in entity.fields)[:FALLBACK_COLUMNS]
    fields = [_field(entity, n) for n in names if access.can_read_field(n)]
    return [f for f in fields if f is not None]


def view_sort(view: ListView | None) -> str:
    return ",".join(("-" if k.descending else "") + k.field for k in view.sort) if view else ""


def combined_filter(view: ListView | None, own: str) -> str | None:
    parts = [f"({text})" for text in ((view.filter if view else None), own) if text]
    return "\n and ".join(parts) or None


class _Checked:
    """The request split into the parts that check and the messages of those that do not."""

    def __init__(self, call: PageCall, entity: Entity, view: ListView | None, state: ListState) -> None:
        self.errors: dict[str, list[str]] = {}
        self.own_filter = state.filter
        if self.own_filter:  # checked alone, so that line:column point into what the reader typed
            try:
                ListQuery(call.model, call.context, entity.name, ListRequest(filter=self.own_filter, with_total=False))
            except Invalid as error:
                self._note(error)
                self.own_filter = ""
        self.sort = state.sort or view_sort(view)
        self.search = state.q
        self.offset = state.offset
        # a list that silently ignored a broken filter would look filtered: show none until it is fixed
        self.query = None if "filter" in self.errors else self._build(call, entity, view)

    def _note(self, error: Invalid) -> None:
        for problem in error.errors:
            self.errors.setdefault(problem.field or "list", []).append(problem.message)
        if not error.errors:
            self.errors.setdefault("list", []).append(error.detail)

    def _build(self, call: PageCall, entity: Entity, view: ListView | None) -> ListQuery | None:
        for _attempt in range(2):
            request = ListRequest(filter=combined_filter(view, self.own_filter), sort=self.sort or None,
                                  search=self.search or None, limit=PAGE_SIZE, offset=self.offset)
            try:
                return ListQuery(call.model, call.context, entity.name, request)
            except Invalid as error:
                self._note(error)
                fields = {p.field for p in error.errors}
                self.sort = "" if "sort" in fields else self.sort
                self.search = "" if "q" in fields else self.search
                self.offset = 0 if fields & {"offset", "limit"} else self.offset
                if "filter" in fields:  # the reader's filter checked alone: the view's own is at fault
                    view = None
        return None


def _sort_columns(columns: list[Field], effective_sort: str, href: Any) -> list[Column]:
    """Each column's header link: sorts by it ascending, or descending when it already is ascending."""
    first = effective_sort.split(",")[0].strip() if effective_sort else ""
    descending, current = first.startswith("-"), first.lstrip("+-")
    result = []
    for field in columns:
        sortable = get_field_type(field.type).indexable
        aria = ("descending" if descending else "ascending") if field.name == current else None
        target = f"-{field.name}" if aria == "ascending" else field.name
        result.append(Column(field.name, field.label, href(sort=target, offset=0) if sortable else None, aria))
    return result


def _paging(page: Page, offset: int, href: Any) -> Paging:
    total = page.total or 0
    previous = href(offset=max(offset - PAGE_SIZE, 0)) if offset > 0 else None
    following = href(offset=offset + PAGE_SIZE) if offset + len(page.items) < total else None
    return Paging(offset + 1 if page.items else 0, offset + len(page.items), total, previous, following)


def _board_href(path: str, entity: Entity, access: EntityAccess, workflows: Any, state: ListState) -> str | None:
    """The board of the entity's first picklist (its workflow's state), keeping the search and filter."""
    fields = board_fields(entity, access, workflows)
    if not fields:
        return None
    query = urlencode({k: v for k, v in {"field": fields[0].name, "view": state.view, "q": state.q,
                                         "filter": state.filter}.items() if v})
    return f"{path}/board?{query}"


def list_page(call: PageCall) -> Response:
    """The entity's records in its list view, searched, filtered, sorted and paged as asked."""
    entity = call.model.entity(call.param("entity"))
    access = call.service.access(call.context.actor, entity.name)
    if not access.allows("read"):
        raise Forbidden(f"you may not read {entity.plural_label.lower()}")
    state = _state(call)
    views = entity_views(call, entity.name)
    view = pick_view(views, state.view)
    checked = _Checked(call, entity, view, state)
    path = f"/app/{entity.name}"

    def href(**changes: Any) -> str:
        query = urlencode(state.params(**changes))
        return path + (f"?{query}" if query else "")

    columns = view_columns(entity, view, access)
    rows: list[Row] = []
    paging = None
    if checked.query is not None:
        page = checked.query.run(call.connection)
        names = Names(call.connection, call.model, call.context.actor)
        names.want_rows(columns, page.items)
        rows = [Row(f"{path}/{record['id']}", tuple(names.cell(f, record.get(f.name)) for f in columns))
                for record in page.items]
        paging = _paging(page, checked.offset, href)
    values = {
        "entity": entity, "path": path, "state": state, "errors": checked.errors,
        "views": [ViewOption(v.name, v.label, v is view) for v in views],
        "columns": _sort_columns(columns, checked.sort, href),
        "rows": rows, "paging": paging, "sort": state.sort,
        "has_errors": bool(checked.errors),
        "new_href": f"{path}/new" if access.allows("create") else None,
        "board_href": _board_href(path, entity, access, workflows_of(call.model, entity.name), state),
    }
    if call.wants_fragment("list-region"):
        return call.render_fragment("_list_region.html", values)
    return call.render("list.html", values)
