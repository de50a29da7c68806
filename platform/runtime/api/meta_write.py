"""``/api/meta/...`` changes: administrators customize metadata (``xrm.metadata.customize``) over HTTP.

A change runs in a transaction of its own (schema lock, SQLite foreign keys
off for table rebuilds), so these endpoints authenticate on a read-only
connection first and then hand the change to ``apply_change``.  Every change
takes ``?preview=true`` (everything checked and applied, then rolled back) and
answers ``{change, preview, metadata_version, operations, warnings}``;
refusals are problem+json with ``problems`` (file, JSON path, expected,
found, hint) or ``offending`` (records in the way: count and sample).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xrm.context import Context
from xrm.db import read_only
from xrm.metadata import admin_store
from xrm.metadata.customize import ChangeResult, MetaChange, MetaRefused, apply_change
from xrm.metadata.fieldtypes import field_types as registered_field_types
from xrm.metadata.layers import ADMIN_LAYER, OVERLAID_KINDS, removed_fields
from xrm.metadata.upgrade import UpgradeRefused, plan_upgrade, upgrade_pack
from xrm.runtime.api.calls import Call, _authenticate, _read_json, api_endpoint, json_response
from xrm.runtime.api.problems import ApiProblem, problem_response
from xrm.runtime.record_errors import Forbidden
from xrm.system_tables import schema_history

Build = Callable[[Request, Any], MetaChange]


def _problem_json(problem: Any) -> dict[str, Any]:
    return {k: v for k, v in problem.__dict__.items() if v is not None}


def refusal_response(error: MetaRefused) -> Response:
    return problem_response(error.status, error.title, error.detail,
                            problems=[_problem_json(p) for p in error.problems],
                            offending=[o.to_json() for o in error.offending])


def result_json(result: ChangeResult) -> dict[str, Any]:
    return {"change": result.change.to_json(), "preview": result.preview, "metadata_version": result.metadata_version,
            "operations": [{"operation": o.operation, "target": o.target, "detail": dict(o.detail)}
                           for o in result.operations],
            "warnings": [_problem_json(p) for p in result.warnings]}


def admin_context(request: Request) -> Context:
    """The caller, who must be an administrator (checked on a read-only connection)."""
    with read_only(request.app.state.engine.connect()) as connection:
        actor = _authenticate(request, connection, public=False)
    if not actor.is_admin:
        raise ApiProblem(403, "Forbidden", "only administrators change metadata")
    return Context(actor=actor, source="api")


def change_endpoint(build: Build, *, body: bool = True) -> Callable[[Request], Any]:
    """An endpoint running the change ``build(request, body)`` describes."""

    async def endpoint(request: Request) -> Response:
        try:
            sent = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
            payload = await _read_json(request) if body or sent else {}
            if not isinstance(payload, dict):
                raise ApiProblem(422, "Invalid change", "the body must be a JSON object")
        except ApiProblem as problem:
            return problem_response(problem.status, problem.title, problem.detail, problem.errors, problem.headers)
        return await run_in_threadpool(_run_change, request, build, payload)

    endpoint.__name__ = build.__name__
    return endpoint


def _run_change(request: Request, build: Build, payload: dict[str, Any]) -> Response:
    try:
        context = admin_context(request)
        change = build(request, payload)
        preview = request.query_params.get("preview", "").lower() in ("1", "true", "yes")
        return json_response(result_json(apply_change(request.app.state.engine, change, context, preview=preview)))
    except ApiProblem as problem:
        return problem_response(problem.status, problem.title, problem.detail, problem.errors, problem.headers)
    except MetaRefused as error:
        return refusal_response(error)


def _p(request: Request, name: str) -> str:
    return request.path_params[name]


def _on_field(operation: str, **fixed: Any) -> Build:
    def build(request: Request, body: Any) -> MetaChange:
        values = {**body, **{k: _p(request, v) for k, v in fixed.items()}}
        return MetaChange(operation, entity=_p(request, "entity"), field=_p(request, "field"), values=values)
    build.__name__ = operation
    return build


def _on_entity(operation: str) -> Build:
    def build(request: Request, body: Any) -> MetaChange:
        return MetaChange(operation, entity=request.path_params.get("entity"), values=body)
    build.__name__ = operation
    return build


def _on_role(operation: str) -> Build:
    def build(request: Request, body: Any) -> MetaChange:
        return MetaChange(operation, role=_p(request, "role"), entity=_p(request, "entity"), values=body)
    build.__name__ = operation
    return build


def _require_admin(call: Call) -> None:
    if not call.context.actor.is_admin:
        raise Forbidden("only administrators see the admin layer and the schema history")


def customizations(call: Call) -> Response:
    """What administrators changed on an entity: its overlay, and its soft-removed fields (data kept)."""
    _require_admin(call)
    name = call.param("entity")
    call.model.entity(name)
    stored = admin_store.overlay(call.connection, "entity", name)
    overlay = dict(stored.definition) if stored else {}
    return json_response({"entity": name, "pack": call.model.catalog.entities[name].pack,
                          "created_by_admin": bool(overlay.get("entity")), "overlay": overlay,
                          "removed_fields": list(removed_fields(overlay).values())})


def all_customizations(call: Call) -> Response:
    """Every admin overlay of entities and roles (other admin-layer kinds, like dashboards, have their own pages)."""
    _require_admin(call)
    rows = admin_store.stored_documents(call.connection, ADMIN_LAYER, OVERLAID_KINDS)
    return json_response({"items": [{"kind": r.kind, "name": r.name, "pack": r.pack, "overlay": dict(r.definition)}
                                     for r in rows]})


def field_types(call: Call) -> Response:
    """The field types an entity may use, with the properties each takes (for forms that add fields)."""
    return json_response({"items": [
        {"name": t.name, "label": t.label, "value_type": t.value_type, "computed": t.computed,
         "indexable": t.indexable, "unique_by_nature": t.unique_by_nature,
         "properties": dict(t.options_schema), "required_properties": list(t.required_options)}
        for t in registered_field_types()]})


def history(call: Call) -> Response:
    """The schema history, newest first: packs installed and upgraded, admin changes, each table operation."""
    _require_admin(call)
    query = select(schema_history).order_by(schema_history.c.id.desc())
    target = call.request.query_params.get("target")
    if target:
        query = query.where(schema_history.c.target.startswith(target))
    try:
        limit = min(max(int(call.request.query_params.get("limit", "100")), 1), 1000)
    except ValueError:
        limit = 100
    rows = call.connection.execute(query.limit(limit)).mappings()
    return json_response({"items": [dict(row) for row in rows]})


def _pack_folder(body: Any) -> Path:
    path = body.get("path") if isinstance(body, dict) else None
    if not isinstance(path, str) or not Path(path).is_dir():
        raise ApiProblem(422, "Invalid request", "'path' must name a pack folder on the server")
    return Path(path)


def pack_endpoint(upgrade: bool) -> Callable[[Request], Any]:
    """``POST /api/meta/packs/plan`` (nothing changes) or ``/upgrade`` with ``{"path": PACK FOLDER}``."""

    async def endpoint(request: Request) -> Response:
        try:
            payload = await _read_json(request)
        except ApiProblem as problem:
            return problem_response(problem.status, problem.title, problem.detail, problem.errors)
        return await run_in_threadpool(_run_pack, request, payload, upgrade)

    endpoint.__name__ = "upgrade_pack" if upgrade else "plan_upgrade"
    return endpoint


def _run_pack(request: Request, payload: Any, upgrade: bool) -> Response:
    try:
        context = admin_context(request)
        root, engine = _pack_folder(payload), request.app.state.engine
        if not upgrade:
            return json_response(plan_upgrade(engine, root, context).to_json())
        return json_response({**upgrade_pack(engine, root, context).plan.to_json(), "applied": True})
    except ApiProblem as problem:
        return problem_response(problem.status, problem.title, problem.detail, problem.errors, problem.headers)
    except UpgradeRefused as refused:
        return problem_response(409, "Upgrade refused", str(refused), plan=refused.plan.to_json())


def meta_write_routes() -> list[Route]:
    field = "/meta/entities/{entity}/fields/{field}"
    return [
        Route("/meta/entities", change_endpoint(_on_entity("create_entity")), methods=["POST"]),
        Route("/meta/entities/{entity}", change_endpoint(_on_entity("update_entity")), methods=["PATCH"]),
        Route("/meta/entities/{entity}/fields", change_endpoint(_on_entity("add_field")), methods=["POST"]),
        Route("/meta/entities/{entity}/customizations", api_endpoint(customizations), methods=["GET"]),
        Route(field, change_endpoint(_on_field("update_field")), methods=["PATCH"]),
        Route(field, change_endpoint(_on_field("remove_field"), body=False), methods=["DELETE"]),
        Route(field + "/restore", change_endpoint(_on_field("restore_field"), body=False), methods=["POST"]),
        Route(field + "/purge", change_endpoint(_on_field("purge_field")), methods=["POST"]),
        Route(field + "/options", change_endpoint(_on_field("add_option")), methods=["POST"]),
        Route(field + "/options", change_endpoint(_on_field("reorder_options")), methods=["PUT"]),
        Route(field + "/options/{value}", change_endpoint(_on_field("update_option", value="value")),
              methods=["PATCH"]),
        Route(field + "/options/{value}", change_endpoint(_on_field("remove_option", value="value"), body=False),
              methods=["DELETE"]),
        Route("/meta/roles/{role}/permissions/{entity}", change_endpoint(_on_role("grant")), methods=["PUT"]),
        Route("/meta/roles/{role}/permissions/{entity}", change_endpoint(_on_role("revoke"), body=False),
              methods=["DELETE"]),
        Route("/meta/history", api_endpoint(history), methods=["GET"]),
        Route("/meta/customizations", api_endpoint(all_customizations), methods=["GET"]),
        Route("/meta/field-types", api_endpoint(field_types), methods=["GET"]),
        Route("/meta/packs/plan", pack_endpoint(upgrade=False), methods=["POST"]),
        Route("/meta/packs/upgrade", pack_endpoint(upgrade=True), methods=["POST"]),
    ]
