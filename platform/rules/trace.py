"""The decision trace: which rule fired on a record, why (the values its condition saw), and what each
action did — "assigned to Alice (round robin in team 'west_sales') by rule "West leads round robin",
because region = 'west'"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from xrm.context import Context
from xrm.rules.expr import CheckedExpression
from xrm.rules.expr.nodes import Path, walk
from xrm.system_tables import rule_trace

if TYPE_CHECKING:
    from xrm.rules.actions import Outcome
    from xrm.rules.ruleset import CompiledRule


@dataclass
class Decision:
    """One rule evaluated for one record; ``outcomes`` fill in as its actions run."""

    rule: CompiledRule
    trigger: str
    fired: bool
    seen: Mapping[str, Any]
    reason: str | None = None
    depth: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def because(self) -> str:
        if self.rule.condition is None:
            return f"on {self.trigger}"
        values = ", ".join(f"{path} = {shown(value)}" for path, value in self.seen.items())
        return f"because {self.rule.condition.source}" + (f" ({values})" if values else "")

    def summary(self) -> str:
        if not self.fired:
            return f"rule \"{self.rule.name}\" did not fire on {self.trigger}: {self.reason}" + (
                f" ({', '.join(f'{p} = {shown(v)}' for p, v in self.seen.items())})" if self.seen else "")
        done = "; ".join(o.summary for o in self.outcomes) or "no action"
        return f"{done} — by rule \"{self.rule.name}\" on {self.trigger}, {self.because()}"


def seen_values(condition: CheckedExpression, expanded: Mapping[str, Any]) -> dict[str, Any]:
    """The value of each field path the condition reads, as it read them."""
    seen: dict[str, Any] = {}
    for node in walk(condition.tree):
        if isinstance(node, Path):
            value: Any = expanded
            for name in node.names:
                value = value.get(name) if isinstance(value, Mapping) else None
            if isinstance(value, Mapping):
                value = value.get("id")
            seen[".".join(node.names)] = _json(value)
    return seen


def write_decisions(connection: Connection, context: Context, entity: str, record_id: int | None,
                    decisions: Sequence[Decision]) -> None:
    if record_id is None or not decisions:
        return
    connection.execute(insert(rule_trace), [
        {"entity": entity, "record_id": record_id, "rule": d.rule.name, "pack": d.rule.pack, "trigger": d.trigger[:255],
         "fired": d.fired, "reason": d.reason, "seen": dict(d.seen),
         "actions": [{"action": o.action, "summary": o.summary, "done": o.done, "detail": _json(dict(o.detail))}
                     for o in d.outcomes],
         "summary": d.summary(), "depth": d.depth, "actor": context.actor.name[:150], "at": context.now}
        for d in decisions
    ])


def trace_of(connection: Connection, entity: str, record_id: int, *, fired_only: bool = False,
             hidden: frozenset[str] = frozenset(), related: bool = True) -> list[dict[str, Any]]:
    """The record's decisions, oldest first.  Values the reader may not see are left out: those of
    ``hidden`` fields and, without ``related``, those read through lookups (from records the reader
    may not be allowed to read)."""
    statement = select(rule_trace).where(rule_trace.c.entity == entity, rule_trace.c.record_id == record_id)
    if fired_only:
        statement = statement.where(rule_trace.c.fired.is_(True))
    rows = connection.execute(statement.order_by(rule_trace.c.id)).mappings()
    decisions = [{"id": r["id"], "rule": r["rule"], "pack": r["pack"], "trigger": r["trigger"], "fired": r["fired"],
                  "reason": r["reason"], "seen": r["seen"], "actions": r["actions"], "summary": r["summary"],
                  "depth": r["depth"], "actor": r["actor"], "at": r["at"].isoformat()} for r in rows]
    if not hidden and related:
        return decisions
    return [_redacted(d, hidden, related) for d in decisions]


def _action_paths(action: Mapping[str, Any]) -> set[str]:
    detail = action.get("detail") or {}
    paths = set((detail.get("values") or {}).keys()) | set(detail.get("fields") or ())
    if "field" in detail:
        paths.add(detail["field"])
    return paths


def _secret(path: str, hidden: frozenset[str], related: bool) -> bool:
    return path.split(".")[0] in hidden or (not related and "." in path)


def _redacted(decision: dict[str, Any], hidden: frozenset[str], related: bool) -> dict[str, Any]:
    """The decision without the values the reader may not see: they learn that a rule acted, not what it saw."""
    paths = set(decision["seen"]) | {p for a in decision["actions"] for p in _action_paths(a)}
    if not any(_secret(p, hidden, related) for p in paths):
        return decision
    seen = {path: value for path, value in decision["seen"].items() if not _secret(path, hidden, related)}
    actions = [{"action": a["action"], "done": a["done"], "summary": f"{a['action']} (details hidden from you)",
                "detail": {}} if any(_secret(p, hidden, related) for p in _action_paths(a)) else a
               for a in decision["actions"]]
    verb = "fired" if decision["fired"] else "did not fire"
    summary = f"rule \"{decision['rule']}\" {verb} on {decision['trigger']} (some of its values are hidden from you)"
    return {**decision, "seen": seen, "actions": actions, "summary": summary,
            "reason": None if decision["reason"] else decision["reason"]}


def _json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def shown(value: Any) -> str:
    """A value as the trace shows it: text quoted, empty as "empty", booleans as the language writes them."""
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return str(value)
