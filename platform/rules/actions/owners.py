"""Actions that give the record an owner: ``assign``, ``move_to_queue``, ``return_to_pool``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from xrm.db import dialect_insert
from xrm.rules import ast
from xrm.rules.actions.base import ActionCheck, ActionRun, Outcome, RuleAction, compiles
from xrm.rules.actions.people import UserPath, user_path
from xrm.rules.assignment import Pick, pick_owner, unavailable
from xrm.rules.expr import CheckedExpression
from xrm.system_tables import org_tables, pool_protections, users

OWNER_FIELDS = frozenset({"owner_id", "owner_queue_id"})


def queue_id(run: ActionRun, name: str) -> tuple[int, str] | None:
    queues = org_tables["queue"]
    row = run.connection.execute(select(queues.c.id, queues.c.label).where(queues.c.name == name)).first()
    return None if row is None else (row.id, row.label)


def _to_queue(run: ActionRun, record: dict[str, Any], name: str, why: str) -> Outcome:
    found = queue_id(run, name)
    if found is None:
        return Outcome("assign", f"could not move to queue '{name}': there is no such queue", done=False)
    record["owner_id"], record["owner_queue_id"] = None, found[0]
    return Outcome("assign", f"moved to queue '{found[1]}'{why}", {"queue_id": found[0], "queue": name,
                                                                   "queue_label": found[1]})


def _user_name(run: ActionRun, user_id: int) -> str:
    return run.connection.execute(select(users.c.display_name).where(users.c.id == user_id)).scalar() or f"#{user_id}"


@dataclass(frozen=True)
class Assign(RuleAction):
    kind = "assign"
    phase = "record"
    strategy: str
    group: str | None
    target: str | None
    skip_absent: bool = False
    cap: int | None = None
    open_condition: CheckedExpression | None = None
    fallback_queue: str | None = None
    person: UserPath | None = None

    @property
    def writes(self) -> frozenset[str]:
        return OWNER_FIELDS

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        if self.strategy in ("round_robin", "least_loaded"):
            return self._pick(run, record)
        if self.strategy == "queue":
            return _to_queue(run, record, self.target or "", "")
        user_id = self._person(run, record)
        who = self.target if self.strategy == "user" else (self.person.text if self.person else "")
        if user_id is None:
            return self._fallback(run, record, f"{who} is nobody")
        skipped = unavailable(run.connection, user_id, run.context.now, skip_absent=self.skip_absent)
        if skipped is not None:
            return self._fallback(run, record, f"{skipped.name} skipped: {skipped.reason}")
        record["owner_id"], record["owner_queue_id"] = user_id, None
        name = _user_name(run, user_id)
        return Outcome("assign", f"assigned to {name} ({who})", {"user_id": user_id, "user": name})

    def _person(self, run: ActionRun, record: dict[str, Any]) -> int | None:
        if self.strategy == "user":
            return run.connection.execute(select(users.c.id).where(users.c.username == self.target)).scalar()
        assert self.person is not None
        return self.person.resolve(run, record)

    def _fallback(self, run: ActionRun, record: dict[str, Any], why: str) -> Outcome:
        if self.fallback_queue:
            return _to_queue(run, record, self.fallback_queue, f" ({why})")
        return Outcome("assign", f"not assigned: {why}", done=False)

    def _pick(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        pick = Pick(self.strategy, self.group, self.target, run.entity.name,  # type: ignore[arg-type]
                    skip_absent=self.skip_absent, cap=self.cap, open_condition=self.open_condition,
                    fallback_queue=self.fallback_queue)
        chosen = pick_owner(run.connection, run.service.model, pick, run.context.now)
        detail = {"strategy": self.strategy, self.group or "group": self.target, "user_id": chosen.user_id,
                  "queue_id": chosen.queue_id,
                  "skipped": [{"user": s.name, "reason": s.reason} for s in chosen.skipped]}
        if chosen.user_id is None and chosen.queue_id is None:
            return Outcome("assign", f"not assigned: {chosen.summary()}", detail, done=False)
        record["owner_id"], record["owner_queue_id"] = chosen.user_id, chosen.queue_id
        verb = "assigned to" if chosen.user_id is not None else "moved to"
        return Outcome("assign", f"{verb} {chosen.summary()}", detail)

    def plan(self) -> Mapping[str, Any]:
        group = self.group if self.strategy in ("round_robin", "least_loaded", "queue") else "user"
        return {"kind": "assign", "group": group, "target": self.target or (self.person.text if self.person else None)}


@compiles(ast.Assign)
def _assign(node: ast.Assign, check: ActionCheck) -> Assign | None:
    ok = True
    strategy, group = node.strategy, node.group
    if strategy == "group":  # "to team 'x'" is round robin in the team; "to queue 'x'" waits in the queue
        strategy = "round_robin" if group == "team" else "queue"
    if group is not None and node.target is not None:
        ok = check.known(group, node.target, node.place) and ok  # type: ignore[arg-type]
    if strategy == "user" and node.target is not None:
        ok = check.known("user", node.target, node.place) and ok
    if node.fallback_queue is not None:
        ok = check.known("queue", node.fallback_queue, node.place) and ok
    person = None
    if strategy == "field" and node.target is not None:
        person = user_path(node.target, node.place, check)
        ok = ok and person is not None
    condition = None
    if node.open_when is not None:
        condition = check.expression(node.open_when, expected="boolean")
        ok = ok and condition is not None
    if (node.cap is not None or node.open_when is not None) and strategy not in ("round_robin", "least_loaded"):
        check.report(node.place, "cap and 'open when' only apply to round_robin and least_loaded", code="assign_option")
        ok = False
    if not ok:
        return None
    return Assign(strategy, group, node.target, node.skip_absent, node.cap, condition, node.fallback_queue, person)


@dataclass(frozen=True)
class MoveToQueue(RuleAction):
    kind = "move_to_queue"
    phase = "record"
    queue: str

    @property
    def writes(self) -> frozenset[str]:
        return OWNER_FIELDS

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        outcome = _to_queue(run, record, self.queue, "")
        return Outcome("move_to_queue", outcome.summary, outcome.detail, outcome.done)

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "move_to_queue", "target": self.queue}


@compiles(ast.MoveToQueue)
def _move(node: ast.MoveToQueue, check: ActionCheck) -> MoveToQueue | None:
    return MoveToQueue(node.queue) if check.known("queue", node.queue, node.place) else None


DEFAULT_POOL = "public_pool"


@dataclass(frozen=True)
class ReturnToPool(RuleAction):
    """The record goes back to a pool queue; its last owner may not claim it again for ``protect``."""

    kind = "return_to_pool"
    phase = "record"
    queue: str
    protect: timedelta | None

    @property
    def writes(self) -> frozenset[str]:
        return OWNER_FIELDS

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        last_owner = record.get("owner_id")
        record["last_owner_id"] = last_owner  # not a column: lets a later "notify owner" reach who had it
        outcome = _to_queue(run, record, self.queue, "")
        if not outcome.done:
            return Outcome("return_to_pool", outcome.summary, done=False)
        summary = f"returned to the pool '{outcome.detail['queue_label']}'"
        detail = dict(outcome.detail)
        if last_owner is not None and self.protect and record.get("id") is not None:
            until = run.context.now + self.protect
            _protect(run, record["id"], last_owner, until)
            summary += f"; {_user_name(run, last_owner)} may not claim it again before {until:%Y-%m-%d %H:%M} UTC"
            detail.update(protected_user_id=last_owner, until=until.isoformat())
        return Outcome("return_to_pool", summary, detail)

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "return_to_pool", "target": self.queue}


def _protect(run: ActionRun, record_id: int, user_id: int, until: Any) -> None:
    insert_ = dialect_insert(run.connection)
    statement = insert_(pool_protections).values(entity=run.entity.name, record_id=record_id, user_id=user_id,
                                                        until=until)
    run.connection.execute(statement.on_conflict_do_update(
        index_elements=[pool_protections.c.entity, pool_protections.c.record_id, pool_protections.c.user_id],
        set_={"until": until}))


@compiles(ast.ReturnToPool)
def _pool(node: ast.ReturnToPool, check: ActionCheck) -> ReturnToPool | None:
    queue = node.queue or DEFAULT_POOL
    if not check.known("queue", queue, node.place):
        return None
    return ReturnToPool(queue, timedelta(seconds=node.protect_seconds) if node.protect_seconds else None)
