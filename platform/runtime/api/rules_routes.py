"""``/api/rules/check``, ``/api/rules/dry-run`` and a record's decision trace ``/api/{entity}/{id}/trace``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from xrm.metadata.model import RuleFile
from xrm.rules.checker import RulesReport, check_rules, org_names
from xrm.rules.dry_run import DryRun, dry_run_in
from xrm.rules.trace import trace_of
from xrm.runtime.api.calls import Call, api_endpoint, json_response
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.record_logic import FieldError

MAX_RULES_TEXT = 500_000
EVENTS = ("created", "updated", "deleted", "transition")


def record_trace(call: Call) -> Response:
    """Every rule decision on the record (``?fired=true``: only the rules that fired), oldest first."""
    entity, record_id = call.param("entity"), call.request.path_params["id"]
    call.service.get(call.connection, call.context, entity, record_id)  # 404 unless the caller may read it
    fired_only = call.request.query_params.get("fired", "").lower() in ("1", "true", "yes")
    access = call.service.access(call.context.actor, entity)
    hidden = frozenset(f for f in call.model.entity(entity).field_names if not access.can_read_field(f))
    return json_response({"items": trace_of(call.connection, entity, record_id, fired_only=fired_only,
                                            hidden=hidden, related=call.context.actor.is_admin)})


def _object(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise Invalid("the body must be a JSON object", [FieldError(None, "expected an object", "type")])
    return call.body


def _rules_text(body: dict[str, Any], required: bool) -> tuple[str, str] | None:
    text = body.get("rules")
    if text is None and not required:
        return None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RULES_TEXT:
        raise Invalid("'rules' must be the text of a rule file", [FieldError("rules", "expected rule text", "type")])
    path = body.get("path", "request.rules")
    if not isinstance(path, str) or not path.strip():
        raise Invalid("'path' names the rule file in messages", [FieldError("path", "expected a file name", "type")])
    return path, text


def _checked(call: Call, path: str, text: str) -> RulesReport:
    org = org_names(call.connection)
    if not call.context.actor.is_admin:  # "did you mean 'admin'?" would list user names to anyone
        org = replace(org, users=None)
    return check_rules([("request", RuleFile(path, text))], call.model.catalog, org)


def check(call: Call) -> Response:
    """Check rule text against the installed metadata: every problem with line and column."""
    path, text = _rules_text(_object(call), required=True)  # type: ignore[misc]
    report = _checked(call, path, text)
    return json_response({
        "ok": not report.errors,
        "problems": [{k: v for k, v in p.__dict__.items() if v is not None} for p in report.problems],
        "rules": [{"name": r.name, "entity": r.entity, "priority": r.priority,
                   "triggers": [t.describe(r.entity) for t in r.triggers],
                   "actions": [dict(a.plan()) for a in r.actions], "stop": r.stop} for r in report.ruleset.rules],
        "tests": sum(len(s.tests) for s in report.syntax),
    })


def _instant(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise Invalid(f"'{name}' must be an instant with a time zone",
                      [FieldError(name, "expected e.g. 2026-01-05T09:00:00+01:00", "type")])
    return instant


def dry_run(call: Call) -> Response:
    """Which rules would fire for a sample record and an event at a time, why, and what they would change.

    Nothing is written; administrators only.  Body: ``entity``, ``record`` (field values), ``event``
    (created, updated, deleted, transition), ``changes`` (for updated and a
    transition's values), ``transition``, ``at``, ``wait_until`` (fire the time
    rules due by then) and ``rules`` (rule text to try instead of the installed rules).
    """
    if not call.context.actor.is_admin:  # rules read any record (lookups, assignment): so does a dry run
        raise Forbidden("dry runs are for administrators: rules see every record, whoever triggers them")
    body = _object(call)
    entity = body.get("entity")
    if not isinstance(entity, str) or entity not in call.model.catalog.entities:
        raise Invalid("'entity' must name an entity", [FieldError("entity", "unknown entity", "unknown")])
    event = body.get("event", "created")
    if event not in EVENTS:
        raise Invalid("'event' is one of " + ", ".join(EVENTS), [FieldError("event", "unknown event", "choice")])
    record, changes = body.get("record", {}), body.get("changes", {})
    if not isinstance(record, dict) or not isinstance(changes, dict):
        raise Invalid("'record' and 'changes' are objects of field values",
                      [FieldError("record", "expected an object", "type")])
    if event == "transition" and not isinstance(body.get("transition"), str):
        raise Invalid("a transition event names its 'transition'", [FieldError("transition", "required", "required")])
    ruleset = None
    given = _rules_text(body, required=False)
    if given is not None:
        report = _checked(call, *given)
        if report.errors:
            raise Invalid("the rules have errors; check them with /api/rules/check",
                          [FieldError("rules", str(p), p.code or "rules") for p in report.errors])
        ruleset = report.ruleset
    run = DryRun(entity, record, event, changes, body.get("transition"), _instant(body, "at"),
                 _instant(body, "wait_until"))
    result = dry_run_in(call.connection, call.model, call.context, run, ruleset=ruleset)
    return json_response(result.as_json())


def rules_routes() -> list[Route]:
    return [
        Route("/rules/check", api_endpoint(check, body=True), methods=["POST"]),
        Route("/rules/dry-run", api_endpoint(dry_run, body=True), methods=["POST"]),
        Route("/{entity}/{id:int}/trace", api_endpoint(record_trace), methods=["GET"]),
    ]
