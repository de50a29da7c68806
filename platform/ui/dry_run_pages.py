"""``/rules/dry-run``: what the rules would do to a sample record, for administrators who design rules.

The same dry run as ``POST /api/rules/dry-run`` (``xrm.rules.dry_run``): inside
the page's write transaction, in a savepoint it rolls back, so nothing is
written.  Rule text typed into the page is checked first and, when it has
errors, refused with each problem's line:column and excerpt.

Values are ``field = value`` lines (quotes around a value are optional, an empty
value is empty) or one JSON object; times are ``datetime-local`` inputs read as UTC.  For example
the lines ``last_name = Walker`` and ``rating = 'hot'`` give ``{"last_name": "Walker", "rating": "hot"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from xrm.metadata.model import Entity, RuleFile
from xrm.metadata.problems import PackProblem
from xrm.rules.checker import check_rules, org_names
from xrm.rules.dry_run import DryRun, DryRunResult, dry_run_in
from xrm.rules.ruleset import RuleSet
from xrm.runtime.queries import SYSTEM_FIELDS
from xrm.runtime.record_errors import Forbidden
from xrm.ui.display import Cell, Names, when_text
from xrm.ui.page_calls import PageCall

EVENTS = (("created", "Created"), ("updated", "Updated"), ("deleted", "Deleted"), ("transition", "Transition"))
RULES_PATH = "dry-run.rules"
MAX_RULES_TEXT = 500_000
#: The inputs the form shows back as typed.
INPUTS = ("entity", "event", "values", "changes", "transition", "at", "wait_until", "rules")


@dataclass(frozen=True)
class Decision:
    rule: str
    fired: bool
    summary: str
    trigger: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """The dry run's result as the page shows it."""

    decisions: tuple[Decision, ...]
    record: tuple[tuple[str, Cell], ...]
    timers: tuple[tuple[str, str], ...]
    error: dict[str, Any] | None


def _admin(call: PageCall) -> None:
    if not call.context.actor.is_admin:  # rules read any record (lookups, assignment): so does a dry run
        raise Forbidden("dry runs are for administrators: rules see every record, whoever triggers them")


def _unquoted(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_values(text: str, entity: Entity | None) -> tuple[dict[str, Any], list[str]]:
    """Field values from ``field = value`` lines or a JSON object, and what is wrong with them."""
    stripped = text.strip()
    if not stripped:
        return {}, []
    if stripped.startswith("{"):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as error:
            return {}, [f"line {error.lineno}:{error.colno}: {error.msg}"]
        values, errors = (parsed, []) if isinstance(parsed, dict) else ({}, ["expected one JSON object { … }"])
    else:
        values, errors = {}, []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, equals, value = line.partition("=")
            if not equals or not name.strip():
                errors.append(f"line {number}: expected field = value, found \u201c{line}\u201d")
                continue
            values[name.strip()] = _unquoted(value.strip()) if value.strip() else None
    if entity is not None:
        errors += [f"{entity.label} has no field \u2018{name}\u2019" for name in values
                   if entity.field(name) is None and name not in SYSTEM_FIELDS]
    return values, errors


def _instant(text: str) -> datetime | None:
    """A ``datetime-local`` value, read as UTC (None when empty; ValueError when not a time)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text.strip() else None


def _inputs(call: PageCall) -> dict[str, str]:
    form = call.form or {}
    return {name: str(form.get(name, "")) for name in INPUTS}


def _checked_rules(call: PageCall, text: str) -> tuple[RuleSet | None, list[PackProblem]]:
    org = org_names(call.connection)
    report = check_rules([("request", RuleFile(RULES_PATH, text))], call.model.catalog, org)
    return (None, list(report.errors)) if report.errors else (report.ruleset, [])


def _outcome(call: PageCall, entity: Entity, result: DryRunResult) -> Outcome:
    names = Names(call.connection, call.model, call.context.actor)
    decisions = tuple(Decision(d["rule"], d["fired"], d["summary"], d["trigger"],
                               tuple(a["summary"] for a in d["actions"])) for d in result.decisions)
    pairs: tuple[tuple[str, Cell], ...] = ()
    if result.record is not None:
        fields = [*(f for f in entity.fields if not f.hidden), SYSTEM_FIELDS["owner_id"], SYSTEM_FIELDS["owner_queue_id"]]
        fields = [f for f in fields if f.name in result.record]
        names.want_rows(fields, [result.record])
        pairs = tuple((f.label, names.cell(f, result.record[f.name])) for f in fields)
    timers = tuple((t["rule"], when_text(datetime.fromisoformat(t["due_at"]))) for t in result.timers)
    return Outcome(decisions, pairs, timers, result.error)


def _page(call: PageCall, inputs: dict[str, str], *, errors: dict[str, list[str]] | None = None,
          problems: list[PackProblem] | None = None, outcome: Outcome | None = None, status: int = 200) -> Response:
    entities = sorted(call.model.catalog.entities.values(), key=lambda e: e.label.lower())
    return call.render("dry_run.html", {
        "entities": [(e.name, e.label) for e in entities], "events": EVENTS, "inputs": inputs,
        "errors": errors or {}, "problems": problems or [], "outcome": outcome, "current_entity": None,
    }, status=status)


def dry_run_form(call: PageCall) -> Response:
    """The empty form (the first entity, a created event)."""
    _admin(call)
    return _page(call, {name: "" for name in INPUTS} | {"event": "created"})


def _read(call: PageCall, inputs: dict[str, str]) -> tuple[DryRun | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    entity = call.model.catalog.entities.get(inputs["entity"])
    if entity is None:
        errors["entity"] = ["choose an entity"]
    if inputs["event"] not in dict(EVENTS):
        errors["event"] = ["choose an event"]
    values, problems = parse_values(inputs["values"], entity)
    changes, change_problems = parse_values(inputs["changes"], entity)
    for name, found in (("values", problems), ("changes", change_problems)):
        if found:
            errors[name] = found
    if inputs["event"] == "transition" and not inputs["transition"].strip():
        errors["transition"] = ["a transition event names its transition"]
    instants: dict[str, datetime | None] = {}
    for name in ("at", "wait_until"):
        try:
            instants[name] = _instant(inputs[name])
        except ValueError:
            errors[name] = ["expected a date and time, e.g. 2026-01-05T09:00"]
    if len(inputs["rules"]) > MAX_RULES_TEXT:
        errors["rules"] = [f"at most {MAX_RULES_TEXT:,} characters"]
    if errors or entity is None:
        return None, errors
    return DryRun(entity.name, values, inputs["event"], changes,  # type: ignore[arg-type]
                  inputs["transition"].strip() or None, instants["at"], instants["wait_until"]), errors


def run_dry_run(call: PageCall) -> Response:
    """Run the dry run as posted and show what the rules did; nothing is written."""
    _admin(call)
    inputs = _inputs(call)
    run, errors = _read(call, inputs)
    if run is None:
        return _page(call, inputs, errors=errors, status=422)
    ruleset = None
    if inputs["rules"].strip():
        ruleset, problems = _checked_rules(call, inputs["rules"])
        if problems:
            return _page(call, inputs, problems=problems, status=422)
    result = dry_run_in(call.connection, call.model, call.context, run, ruleset=ruleset)
    return _page(call, inputs, outcome=_outcome(call, call.model.entity(run.entity), result))
