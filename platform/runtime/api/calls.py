"""The plumbing every API endpoint shares: body reading, authentication, one connection, errors.

An endpoint is a plain function ``handler(call) -> Response`` run in a worker
thread.  ``api_endpoint`` reads and parses the body (bounded in size), opens
one connection (a write transaction for unsafe methods, a read-only one
otherwise), authenticates the caller, picks the record model of the metadata
version seen by that same connection, and turns every ``RecordError`` or
``ApiProblem`` into problem+json.  Nothing is kept between requests, so any
number of processes can serve the same database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from xrm.context import Actor, Context, Source
from xrm.db import read_only
from xrm.runtime.api.problems import ApiProblem, problem_response, unauthorized
from xrm.runtime.jsonvalues import to_json
from xrm.runtime.record_errors import RecordError, StaleVersion
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService
from xrm.runtime.users import actor_for_token, actor_for_user

MAX_BODY_BYTES = 1_000_000
#: ``call.body`` of an optional body that was not sent (a JSON ``null`` body is ``None``).
NO_BODY = object()
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Call:
    """One API request, authenticated, with its connection and the record layer for its metadata version."""

    request: Request
    connection: Connection
    context: Context
    model: RecordModel
    service: RecordService
    body: Any

    def param(self, name: str) -> str:
        return self.request.path_params[name]


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(content, default=to_json, separators=(",", ":")), status_code=status,
                    media_type="application/json", headers=headers)


def api_endpoint(handler: Callable[[Call], Response], *, body: bool | str = False, public: bool = False,
                 source: Source = "api") -> Callable[[Request], Any]:
    """Wrap ``handler`` as a Starlette endpoint (see the module docstring).

    ``body``: True reads a JSON body; "optional" also accepts none (then ``call.body`` is None).
    """

    async def endpoint(request: Request) -> Response:
        try:
            no_body = body == "optional" and request.headers.get("content-length", "0") == "0" \
                and "transfer-encoding" not in request.headers
            payload = NO_BODY if no_body else await _read_json(request) if body else None
        except ApiProblem as problem:
            return problem_response(problem.status, problem.title, problem.detail, problem.errors, problem.headers)
        return await run_in_threadpool(_run, handler, request, payload, public, source)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _run(handler: Callable[[Call], Response], request: Request, payload: Any, public: bool, source: Source) -> Response:
    state = request.app.state
    writes = request.method in UNSAFE_METHODS
    try:
        connection_scope = state.engine.begin() if writes else read_only(state.engine.connect())
        with connection_scope as connection:
            context = Context(actor=_authenticate(request, connection, public), source=source,
                              explain=request.query_params.get("explain", "").lower() in ("1", "true", "yes"))
            model = state.catalog.model_for(connection)
            service = RecordService(model, state.write_hooks)
            return handler(Call(request, connection, context, model, service, payload))
    except ApiProblem as problem:
        return problem_response(problem.status, problem.title, problem.detail, problem.errors, problem.headers)
    except StaleVersion as error:
        return problem_response(error.status, error.title, error.detail, error.errors,
                                {"ETag": f'"{error.current_version}"'}, current_version=error.current_version)
    except RecordError as error:
        return problem_response(error.status, error.title, error.detail, error.errors)


ANONYMOUS = Actor(name="anonymous")


def _authenticate(request: Request, connection: Connection, public: bool) -> Actor:
    """The caller: a Bearer token, else the signed session cookie (with its CSRF token for changes)."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("the Authorization header must be 'Bearer <token>'")
        actor = actor_for_token(connection, token.strip(), Context(ANONYMOUS, "api").now)
        if actor is None:
            raise unauthorized("the API token is unknown, revoked or expired")
        return actor
    session = request.scope.get("session") or {}
    user_id = session.get("user_id")
    actor = actor_for_user(connection, user_id) if isinstance(user_id, int) else None
    if actor is None:
        if public:
            return ANONYMOUS
        raise unauthorized()
    if request.method in UNSAFE_METHODS and request.headers.get(CSRF_HEADER) != session.get("csrf"):
        raise ApiProblem(403, "Forbidden", f"a change made with a session cookie needs the '{CSRF_HEADER}' header "
                                           "holding the session's CSRF token (programs should use an API token)")
    return actor


async def _read_json(request: Request) -> Any:
    """The request body as JSON: bounded in size, of a JSON media type, with a clear error otherwise."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise ApiProblem(415, "Unsupported media type", "send the record as JSON with 'Content-Type: application/json'")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ApiProblem(400, "Bad request", "the body is not UTF-8 text") from None
    except RecursionError:
        raise ApiProblem(400, "Bad request", "the body is not usable JSON: it is nested too deeply",
                         [FieldError(None, "JSON nested too deeply", "invalid_json")]) from None
    except json.JSONDecodeError as error:
        raise ApiProblem(400, "Bad request", f"the body is not valid JSON: {error.msg} at line {error.lineno}, "
                                             f"column {error.colno}",
                         [FieldError(None, error.msg, "invalid_json")]) from None


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python's parser accepts them unless told otherwise)."""
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _too_large() -> ApiProblem:
    return ApiProblem(413, "Body too large", f"the body is larger than {MAX_BODY_BYTES:,} bytes")
