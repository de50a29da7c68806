"""``/admin/packs``: name a pack folder on the server, see the plan of its upgrade (nothing changes), apply it
with a confirm button; ``/admin/history``: the schema history (who, when, what)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from xrm.metadata.upgrade import UpgradeRefused, plan_upgrade, upgrade_pack
from xrm.metadata.upgrade_plan import UpgradePlan
from xrm.system_tables import schema_history
from xrm.ui.admin_common import admin_context, admin_page, checked_form, form_text, offending_views, problem_text
from xrm.ui.page_calls import PageCall, _run

HISTORY_LIMIT = 100
DETAIL_LENGTH = 120
FIELD_CHANGES = {"added": "Added", "renamed": "Renamed", "removed": "Removed (column and data kept)",
                 "retyped": "Type changed", "required": "Now required", "optional": "No longer required"}


@dataclass(frozen=True)
class HistoryRow:
    applied_at: str
    applied_by: str
    pack: str
    version: str
    operation: str
    target: str
    detail: str


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= DETAIL_LENGTH else text[:DETAIL_LENGTH - 1] + "…"


def _detail(detail: Any) -> str:
    """A history row's detail on one line: an admin change's values flattened, long values cut."""
    if not isinstance(detail, dict):
        return "" if detail is None else _short(detail)
    values = detail.get("values") if isinstance(detail.get("values"), dict) else {}
    flat = {**{k: v for k, v in detail.items() if k not in ("operation", "values")}, **values}
    return ", ".join(f"{k}: {_short(v)}" for k, v in flat.items() if v not in (None, {}, []))


@admin_page
def history_page(call: PageCall) -> Response:
    """The schema history, newest first (``?target=lead`` keeps what concerns lead)."""
    query = select(schema_history).order_by(schema_history.c.id.desc()).limit(HISTORY_LIMIT)
    target = call.request.query_params.get("target", "").strip()
    if target:
        query = query.where(schema_history.c.target.startswith(target))
    rows = [HistoryRow(f"{row.applied_at:%Y-%m-%d %H:%M:%S}", row.applied_by, row.pack, row.pack_version,
                       row.operation, row.target, _detail(row.detail))
            for row in call.connection.execute(query)]
    return call.render("admin_history.html", {"rows": rows, "target": target, "limit": HISTORY_LIMIT})


@admin_page
def packs_page(call: PageCall) -> Response:
    """The form naming a pack folder on the server."""
    return call.render("admin_packs.html", {"path": "", "plan": None})


def _plan_values(plan: UpgradePlan) -> dict[str, Any]:
    """The plan as the page's sections."""
    return {
        "fields": [{**line.__dict__, "change_label": FIELD_CHANGES.get(line.change, line.change)}
                   for line in plan.fields],
        "problems": [{"text": problem_text(p), "where": f"{p.file} {p.path or ''}".strip(), "severity": p.severity}
                     for p in plan.problems],
        "offending": offending_views(plan.offending),
    }


def _plan_page(call: PageCall, path: str, plan: UpgradePlan | None, *, applied: bool = False,
               message: str | None = None, status: int = 200) -> Response:
    return call.render("admin_packs.html", {
        "path": path, "plan": plan, "applied": applied, "message": message,
        **(_plan_values(plan) if plan else {})}, status=status)


def _pack_action(request: Request, form: FormData, upgrade: bool) -> Response:
    context = admin_context(request)
    if isinstance(context, Response):
        return context
    path = form_text(form, "path")
    if not path or not Path(path).is_dir():
        return _run(lambda call: _plan_page(call, path, None, status=422,
                                            message="Name a pack folder on the server (a folder with pack.json)."),
                    request)
    engine = request.app.state.engine
    try:
        plan = upgrade_pack(engine, Path(path), context).plan if upgrade else plan_upgrade(engine, Path(path), context)
    except UpgradeRefused as refused:
        return _run(lambda call: _plan_page(call, path, refused.plan, message=str(refused), status=409), request)
    return _run(lambda call: _plan_page(call, path, plan, applied=upgrade), request)


def pack_endpoint(upgrade: bool) -> Any:
    """``POST /admin/packs/plan`` (the plan; nothing changes) or ``/admin/packs/upgrade`` (apply it)."""

    async def endpoint(request: Request) -> Response:
        form = await checked_form(request)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(_pack_action, request, form, upgrade)

    endpoint.__name__ = "upgrade_pack" if upgrade else "plan_upgrade"
    return endpoint
