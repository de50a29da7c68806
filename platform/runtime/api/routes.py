"""Everything under ``/api``: the OpenAPI document, metadata, and records of every entity."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from xrm.runtime.api.approval_routes import approval_routes
from xrm.runtime.api.calls import Call, api_endpoint, json_response
from xrm.runtime.api.meta_routes import meta_routes
from xrm.runtime.api.meta_write import meta_write_routes
from xrm.runtime.api.openapi import openapi_document
from xrm.runtime.api.problems import problem_response
from xrm.runtime.api.record_routes import record_routes, workflow_routes
from xrm.runtime.api.rules_routes import rules_routes


def openapi_json(call: Call) -> Response:
    """The OpenAPI document of the installed metadata (public, like any API description)."""
    return json_response(openapi_document(call.model.catalog))


def api_mount() -> Mount:
    routes = [Route("/openapi.json", api_endpoint(openapi_json, public=True), methods=["GET"]),
              *meta_routes(), *meta_write_routes(), *approval_routes(), *rules_routes(), *record_routes(),
              *workflow_routes()]
    return Mount("/api", routes=routes, name="api")


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's own 404/405 as problem+json under /api (plain text elsewhere)."""
    assert isinstance(error, HTTPException)
    if not request.url.path.startswith("/api"):
        return Response(error.detail, status_code=error.status_code, headers=error.headers)
    path = request.url.path if len(request.url.path) <= 200 else request.url.path[:200] + "…"
    detail = {404: f"there is no API endpoint at {path}",
              405: f"{request.method} is not allowed on {path}"}.get(error.status_code, str(error.detail))
    title = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, str(error.detail))
    return problem_response(error.status_code, title, detail, headers=error.headers)
