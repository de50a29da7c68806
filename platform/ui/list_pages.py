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

from xrm.metadata.model import Entity, Field
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.queries import ListQuery, ListRequest, Page
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.workflows import workflows_of
from xrm.ui.board_moves import board_fields
from xrm.ui.bulk_actions import bulk_actions
from xrm.ui.display import Cell, Names
from xrm.ui.list_state import ListState, ResolvedList, both_filters, resolve_list, sortable, view_groups
from xrm.ui.page_calls import PageCall

PAGE_SIZE = 25


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
    id: int
    href: str
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Paging:
    first: int
    last: int
    total: int
    previous_href: str | None
    next_href: str | None


class _Checked:
    """The request split into the parts that check and the messages of those that do not."""

    def __init__(self, call: PageCall, entity: Entity, resolved: ResolvedList, offset: int) -> None:
        self.errors: dict[str, list[str]] = {}
        self.own_filter = resolved.own_filter
        if self.own_filter:  # checked alone, so that line:column point into what the reader typed
            try:
                ListQuery(call.model, call.context, entity.name, ListRequest(filter=self.own_filter, with_total=False))
            except Invalid as error:
                self._note(error)
                self.own_filter = ""
        self.resolved = resolved
        self.sort = resolved.sort
        self.search = resolved.search
        self.offset = offset
        self.base_filter = resolved.base.filter if resolved.base else None
        # a list that silently ignored a broken filter would look filtered: show none until it is fixed
        self.query = None if "filter" in self.errors else self._build(call, entity)

    def _note(self, error: Invalid) -> None:
        for problem in error.errors:
            self.errors.setdefault(problem.field or "list", []).append(problem.message)
        if not error.errors:
            self.errors.setdefault("list", []).append(error.detail)

    def request(self, **changes: Any) -> ListRequest:
        values = {"filter": both_filters(self.base_filter, self.own_filter), "sort": self.sort or None,
                  "search": self.search or None, "limit": PAGE_SIZE, "offset": self.offset, **changes}
        return ListRequest(**values)

    def _build(self, call: PageCall, entity: Entity) -> ListQuery | None:
        for _attempt in range(2):
            try:
                return ListQuery(call.model, call.context, entity.name, self.request())
            except Invalid as error:
                self._note(error)
                fields = {p.field for p in error.errors}
                self.sort = "" if "sort" in fields else self.sort
                self.search = "" if "q" in fields else self.search
                self.offset = 0 if fields & {"offset", "limit"} else self.offset
                if "filter" in fields:  # the reader's filter checked alone: the view's own is at fault
                    self.base_filter = None
        return None


def _sort_columns(columns: list[Field], effective_sort: str, href: Any) -> list[Column]:
    """Each column's header link: sorts by it ascending, or descending when it already is ascending."""
    first = effective_sort.split(",")[0].strip() if effective_sort else ""
    descending, current = first.startswith("-"), first.lstrip("+-")
    result = []
    for field in columns:
        aria = ("descending" if descending else "ascending") if field.name == current else None
        target = f"-{field.name}" if aria == "ascending" else field.name
        result.append(Column(field.name, field.label, href(sort=target, offset=0) if sortable(field) else None, aria))
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
    state = ListState.of(call.request.query_params)
    resolved = resolve_list(call, entity, access, state)
    checked = _Checked(call, entity, resolved, state.offset)
    path = f"/app/{entity.name}"

    def href(**changes: Any) -> str:
        query = urlencode(state.params(**changes))
        return path + (f"?{query}" if query else "")

    columns = resolved.columns
    rows: list[Row] = []
    paging = None
    if checked.query is not None:
        page = checked.query.run(call.connection)
        names = Names(call.connection, call.model, call.context.actor)
        names.want_rows(columns, page.items)
        rows = []
        for record in page.items:
            cells = tuple(names.cell(f, record.get(f.name)) for f in columns)
            rows.append(Row(record["id"], f"{path}/{record['id']}", cells[0].text if cells else str(record["id"]),
                            cells))
        paging = _paging(page, checked.offset, href)
    export_query = urlencode(state.params(offset=0))
    base = resolved.base
    values = {
        "entity": entity, "path": path, "state": state, "errors": checked.errors,
        "view_groups": view_groups(call, entity, base), "base": base,
        "base_is_saved": base is not None and base.saved is not None,
        "base_is_mine": base is not None and base.saved is not None and base.saved.mine(call.context),
        "column_choices": resolved.column_choices,
        "columns": _sort_columns(columns, checked.sort, href),
        "rows": rows, "paging": paging, "sort": state.sort,
        "has_errors": bool(checked.errors),
        "new_href": f"{path}/new" if access.allows("create") else None,
        "import_href": f"{path}/import" if access.allows("create") else None,
        "export_href": f"{path}/export.csv" + (f"?{export_query}" if export_query else ""),
        "board_href": _board_href(path, entity, access, workflows_of(call.model, entity.name), state),
        "bulk": bulk_actions(call, entity, access),
        "return_to": href(),
        "can_share": call.context.actor.is_admin or access.read == "all",
    }
    if call.wants_fragment("list-region"):
        return call.render_fragment("_list_region.html", values)
    return call.render("list.html", values)
