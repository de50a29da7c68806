"""``/api/approvals``: the requests waiting for the caller's decision, and the decisions."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from xrm.runtime import approvals
from xrm.runtime.api.calls import NO_BODY, Call, api_endpoint, json_response
from xrm.runtime.api.record_routes import record_json
from xrm.runtime.record_errors import Invalid
from xrm.runtime.record_logic import FieldError


def awaiting_me(call: Call) -> Response:
    """Open approval requests the caller may decide (expired ones are left out)."""
    rows = approvals.awaiting(call.connection, call.context.actor, call.context.now)
    return json_response({"items": [record_json(r) for r in rows]})


def _comment(call: Call) -> str | None:
    body = {} if call.body in (NO_BODY, None) else call.body
    if not isinstance(body, dict) or set(body) - {"comment"} or not isinstance(body.get("comment", ""), (str, type(None))):
        raise Invalid("the body must be {\"comment\": \"...\"} (or empty)",
                      [FieldError("comment", "expected an object with an optional text 'comment'", "type")])
    return body.get("comment") or None


def approve(call: Call) -> Response:
    decided = approvals.decide(call.service, call.connection, call.context, call.request.path_params["id"],
                               approve=True, comment=_comment(call))
    return json_response(record_json(decided))


def reject(call: Call) -> Response:
    comment = _comment(call)
    decided = approvals.decide(call.service, call.connection, call.context, call.request.path_params["id"],
                               approve=False, comment=comment)
    return json_response(record_json(decided))


def approval_routes() -> list[Route]:
    return [
        Route("/approvals", api_endpoint(awaiting_me), methods=["GET"]),
        Route("/approvals/{id:int}/approve", api_endpoint(approve, body="optional"), methods=["POST"]),
        Route("/approvals/{id:int}/reject", api_endpoint(reject, body="optional"), methods=["POST"]),
    ]
