"""``/api/{entity}`` and ``/api/{entity}/{id}``: records of any entity, through the record service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response
from starlette.routing import Route

from xrm.runtime.api.calls import NO_BODY, Call, api_endpoint, json_response
from xrm.runtime.api.problems import ApiProblem
from xrm.runtime.audit import timeline
from xrm.runtime.jsonvalues import to_json
from xrm.runtime.permissions import scope_condition
from xrm.runtime.queries import DEFAULT_LIMIT, ListQuery, ListRequest, Page
from xrm.runtime.queue_claims import claim
from xrm.runtime.record_errors import Invalid, NotFound
from xrm.runtime.record_logic import FieldError
from xrm.runtime.users import team_mates
from xrm.runtime.workflows import WorkflowRuntime

LIST_PARAMETERS = ("filter", "sort", "limit", "offset", "cursor", "q", "total")


def record_json(record: dict[str, Any]) -> dict[str, Any]:
    return {name: to_json(value) for name, value in record.items()}


def page_json(page: Page) -> dict[str, Any]:
    return {"items": [record_json(r) for r in page.items], "total": page.total, "limit": page.limit,
            "offset": page.offset, "next_cursor": page.next_cursor}


def list_request(call: Call) -> tuple[ListRequest, list[FieldError]]:
    """The list parameters of the query string, and a clear error for each malformed one."""
    params = call.request.query_params
    errors: list[FieldError] = []

    def whole(name: str, default: int) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        if raw.isascii() and raw.isdigit():
            return int(raw)
        errors.append(FieldError(name, f"{name} must be a whole number, found {raw!r}", "type"))
        return default

    total = params.get("total", "true").lower()
    if total not in ("true", "false"):
        errors.append(FieldError("total", "total must be true or false", "type"))
    request = ListRequest(filter=params.get("filter"), sort=params.get("sort"), limit=whole("limit", DEFAULT_LIMIT),
                          offset=whole("offset", 0), cursor=params.get("cursor") or None, search=params.get("q"),
                          with_total=total != "false")
    return request, errors


def list_query(call: Call, entity: str, parent: tuple[str, int] | None = None) -> ListQuery:
    """The checked query, every problem of the parameters reported together."""
    request, errors = list_request(call)
    try:
        query = ListQuery(call.model, call.context, entity, request, parent=parent)
    except Invalid as error:
        if not errors:
            raise
        errors = [*errors, *(e for e in error.errors if e.field not in {f.field for f in errors})]
        raise Invalid("the list parameters are not valid", errors) from None
    if errors:
        raise Invalid("the list parameters are not valid", errors)
    return query


def record_id(call: Call) -> int:
    return call.request.path_params["id"]


def expected_version(call: Call) -> int | None:
    """The version in ``If-Match`` (``3``, ``"3"`` or ``W/"3"``), if the caller sent one."""
    raw = call.request.headers.get("if-match")
    if raw is None:
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):
        raise ApiProblem(400, "Bad request", f"If-Match must hold the record's version, like \"3\"; found {raw!r}",
                         [FieldError(None, "If-Match is not a version number", "invalid_if_match")])
    return int(text)


def _version_value(raw: Any) -> int:
    """A version from a body: a whole number, or its digits as text (as in If-Match)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.strip().isdigit():
        return int(raw)
    raise Invalid("the version is not a version number",
                  [FieldError("version", f"version must be the whole number read with the record, found {raw!r}",
                              "type")])


def _etag(record: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{record["version"]}"'}


def list_records(call: Call) -> Response:
    """List the entity's records: filter, sort, q, limit, offset or cursor, total."""
    return json_response(page_json(list_query(call, call.param("entity")).run(call.connection)))


def create_record(call: Call) -> Response:
    entity = call.param("entity")
    record = call.service.create(call.connection, call.context, entity, _body_object(call))
    return json_response(record_json(record), 201, {"Location": f"/api/{entity}/{record['id']}", **_etag(record)})


def get_record(call: Call) -> Response:
    record = call.service.get(call.connection, call.context, call.param("entity"), record_id(call))
    return json_response(record_json(record), headers=_etag(record))


def update_record(call: Call) -> Response:
    values = dict(_body_object(call))
    version = expected_version(call)
    if "version" in values:  # a form may send the version it read instead of an If-Match header
        body_version = _version_value(values.pop("version"))
        if version is None:
            version = body_version
    record = call.service.update(call.connection, call.context, call.param("entity"), record_id(call), values,
                                 expected_version=version)
    return json_response(record_json(record), headers=_etag(record))


def delete_record(call: Call) -> Response:
    call.service.delete(call.connection, call.context, call.param("entity"), record_id(call),
                        expected_version=expected_version(call))
    return Response(status_code=204)


def record_timeline(call: Call) -> Response:
    """The record's history, newest first, without the values of fields the caller may not read."""
    entity = call.param("entity")
    access = call.service.access(call.context.actor, entity)
    try:
        call.service.get(call.connection, call.context, entity, record_id(call))
    except NotFound:
        entries = timeline(call.connection, entity, record_id(call), hidden_fields=access.hidden_fields)
        if not entries or entries[0].action != "delete" or not _could_read_deleted(call, access, entries[0]):
            raise
        return json_response({"items": [e.as_json() for e in entries]})
    entries = timeline(call.connection, entity, record_id(call), hidden_fields=access.hidden_fields)
    return json_response({"items": [e.as_json() for e in entries]})


def _could_read_deleted(call: Call, access: Any, deletion: Any) -> bool:
    """Whether the caller's read scope reached the record when it was deleted (its owner then)."""
    owner = next((c.old for c in deletion.changes if c.field == "owner_id"), None)
    actor = call.context.actor
    if access.read == "all":
        return True
    if access.read is None or actor.user_id is None or owner is None:
        return False
    if owner == actor.user_id:
        return True
    return access.read == "team" and owner in set(call.connection.execute(team_mates(actor.user_id)).scalars())


def related_lists(call: Call) -> Response:
    """The lookups of other entities pointing to this record, with how many records the caller may see."""
    entity, parent = call.param("entity"), record_id(call)
    call.service.get(call.connection, call.context, entity, parent)
    items = []
    for reference in call.model.references_to(entity):
        access = call.service.access(call.context.actor, reference.entity)
        if not access.allows("read") or not access.can_read_field(reference.field.name):
            continue
        table = call.model.table(reference.entity)
        statement = select(func.count()).select_from(table).where(table.c[reference.field.name] == parent)
        scope = scope_condition(access.read, table, call.context.actor)  # type: ignore[arg-type]
        if scope is not None:
            statement = statement.where(scope)
        other = call.model.entity(reference.entity)
        items.append({
            "entity": other.name, "field": reference.field.name,
            "label": f"{other.plural_label} ({reference.field.label})",
            "count": call.connection.execute(statement).scalar_one(),
            "href": f"/api/{entity}/{parent}/related/{other.name}/{reference.field.name}",
        })
    return json_response({"items": items})


def related_records(call: Call) -> Response:
    """Records of ``child`` whose lookup ``field`` points to this record (list parameters apply)."""
    entity, parent, child, field = call.param("entity"), record_id(call), call.param("child"), call.param("field")
    call.service.get(call.connection, call.context, entity, parent)
    if not any(r.entity == child and r.field.name == field for r in call.model.references_to(entity)):
        raise NotFound(f"'{child}.{field}' is not a lookup to {entity}")
    return json_response(page_json(list_query(call, child, parent=(field, parent)).run(call.connection)))


def _body_object(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise Invalid("the body must be a JSON object of field names and values",
                      [FieldError(None, "expected a JSON object", "type")])
    return call.body


def record_routes() -> list[Route]:
    return [
        Route("/{entity}", api_endpoint(list_records), methods=["GET"]),
        Route("/{entity}", api_endpoint(create_record, body=True), methods=["POST"]),
        Route("/{entity}/{id:int}", api_endpoint(get_record), methods=["GET"]),
        Route("/{entity}/{id:int}", api_endpoint(update_record, body=True), methods=["PATCH"]),
        Route("/{entity}/{id:int}", api_endpoint(delete_record), methods=["DELETE"]),
        Route("/{entity}/{id:int}/timeline", api_endpoint(record_timeline), methods=["GET"]),
        Route("/{entity}/{id:int}/related", api_endpoint(related_lists), methods=["GET"]),
        Route("/{entity}/{id:int}/related/{child}/{field}", api_endpoint(related_records), methods=["GET"]),
    ]


def list_transitions(call: Call) -> Response:
    """Transitions out of the record's current state: which the caller may take now, and why not the others."""
    options = WorkflowRuntime(call.service).options(call.connection, call.context, call.param("entity"), record_id(call))
    return json_response({"items": [o.as_json() for o in options]})


def take_transition(call: Call) -> Response:
    """Take a transition; the body may carry ``values`` to set in the same change (e.g. the fields it requires)."""
    body = call.body if call.body is not NO_BODY else {}
    if not isinstance(body, dict) or not isinstance(body.get("values", {}), dict) or set(body) - {"values", "version"}:
        raise Invalid("the body must be {\"values\": {field: value, ...}} (or empty)",
                      [FieldError(None, "expected a JSON object with an optional 'values' object", "type")])
    version = expected_version(call)
    if "version" in body:
        body_version = _version_value(body["version"])
        version = body_version if version is None else version
    taken = WorkflowRuntime(call.service).take(call.connection, call.context, call.param("entity"), record_id(call),
                                               call.param("name"), body.get("values") or {}, expected_version=version)
    if taken.approval is not None:  # accepted, not done: it waits for the approver
        return json_response({"approval": record_json(taken.approval), "record": record_json(taken.record)}, 202,
                             headers=_etag(taken.record))
    return json_response(record_json(taken.record), headers=_etag(taken.record))


def workflow_routes() -> list[Route]:
    return [
        Route("/{entity}/{id:int}/transitions", api_endpoint(list_transitions), methods=["GET"]),
        Route("/{entity}/{id:int}/transitions/{name}", api_endpoint(take_transition, body="optional"), methods=["POST"]),
        Route("/{entity}/{id:int}/claim", api_endpoint(claim_record), methods=["POST"]),
    ]


def claim_record(call: Call) -> Response:
    """Take a record waiting in one of the caller's queues (409 when someone was faster)."""
    record = claim(call.service, call.connection, call.context, call.param("entity"), record_id(call))
    return json_response(record_json(record), headers=_etag(record))
