"""``/app/{entity}/export.csv``: the list as the reader sees it — view, columns, filter, search, sort — as CSV.

It takes the list page's query parameters and resolves them the same way
(``xrm.ui.list_state``), then streams ``xrm.runtime.csv_export``: the request
is checked first (a broken filter answers an error page, not half a file),
then the rows go out as they are read, with a connection of the stream's own.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.responses import Response, StreamingResponse

from xrm.context import Context
from xrm.db import read_only
from xrm.runtime.csv_export import ExportPlan, csv_chunks, export_rows, plan_export
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.record_model import RecordModel
from xrm.ui.list_pages import ListState, resolve_list
from xrm.ui.page_calls import PageCall


def export_csv(call: PageCall) -> Response:
    """The current list as a CSV download (UTF-8 with a byte-order mark, so Excel reads it right)."""
    entity = call.model.entity(call.param("entity"))
    access = call.service.access(call.context.actor, entity.name)
    if not access.allows("read"):
        raise Forbidden(f"you may not read {entity.plural_label.lower()}")
    state = ListState.of(call.request.query_params)
    resolved = resolve_list(call, entity, access, state)
    try:
        plan = plan_export(call.model, call.context, entity.name, [c.name for c in resolved.columns],
                           filter=resolved.filter_with(resolved.own_filter), sort=resolved.sort or None,
                           search=resolved.search or None)
    except Invalid as error:
        message = "; ".join(e.message for e in error.errors) or error.detail
        query = f"?{call.request.url.query}" if call.request.url.query else ""
        return call.render("error.html", {"title": "Cannot export this list", "message": message,
                                          "back_href": f"/app/{entity.name}{query}"}, status=422)
    stamp = call.context.now.strftime("%Y-%m-%d")
    return StreamingResponse(
        _stream(call.request.app.state.engine, call.model, call.context, plan), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{entity.name}-{stamp}.csv"',
                 "Cache-Control": "no-store"})


def _stream(engine, model: RecordModel, context: Context, plan: ExportPlan) -> Iterator[str]:  # noqa: ANN001
    with read_only(engine.connect()) as connection:
        yield "\ufeff"
        yield from csv_chunks(export_rows(connection, model, context, plan, labels=True))
