"""The rules engine: runs the installed rules inside the record service's write transaction.

For each create, update or delete the record service calls ``before_write``
(after validation, before the row is written) and ``after_write`` (once it is
written and has an id).  Before the write, triggered rules run in priority
order: their conditions see the record as it is about to be written (and
``previous()`` the stored one), and their record actions (set, assign, raise,
move to queue, return to pool) change it in place.  Fields changed by rules
trigger the rules watching them in a next round, until nothing changes or
``MAX_CASCADE`` is reached, which refuses the whole write naming the chain.
``stop`` ends the current round.  After the write, the fired rules' effects
run (notifications, related records, transitions — writes that run rules of
their own, one level deeper in ``Context.chain``), the decision trace is
stored and the record's time-rule timers are moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from xrm.context import Actor, Context
from xrm.metadata.identifiers import SYSTEM_COLUMNS
from xrm.rules import time_triggers
from xrm.rules.actions import ActionRun, Outcome, RuleAction
from xrm.rules.checker import rules_of_catalog
from xrm.rules.ruleset import EMPTY, CompiledRule, OnChange, OnEvent, OnTransition, RuleSet, Trigger
from xrm.rules.trace import Decision, seen_values, write_decisions
from xrm.runtime.record_errors import RecordError
from xrm.runtime.record_hooks import RecordChange

if TYPE_CHECKING:
    from xrm.runtime.records import RecordService

#: How many rounds of rules (within one write and through the writes rules make) before a loop is declared.
MAX_CASCADE = 8


class RuleLoop(RecordError):
    status = 409
    title = "Rules loop"


class RuleFailed(RecordError):
    status = 422
    title = "A rule failed"


@dataclass
class Pending:
    """What the record phase leaves for after the write: effects to run and decisions to store."""

    effects: list[tuple[CompiledRule, RuleAction, Decision, Mapping[str, Any] | None]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    changed: dict[str, Any] = field(default_factory=dict)
    #: what record actions noted beside the fields (``last_owner_id``), for the effects after the write
    notes: dict[str, Any] = field(default_factory=dict)


def rule_context(context: Context, rule: CompiledRule, entity: str, record_id: int | None) -> Context:
    """The context a rule acts in: the platform, on behalf of the rule, one step further down the chain."""
    step = f"\"{rule.name}\" on {entity}" + (f" #{record_id}" if record_id is not None else "")
    return replace(context, actor=Actor.system(f"rule: {rule.name}"[:150]), source="rule",
                   chain=(*context.chain, step))


class RulesEngine:
    def __init__(self, service: RecordService, ruleset: RuleSet | None = None) -> None:
        self.service = service
        self._ruleset = ruleset  # a dry run tries rules that are not installed

    @property
    def ruleset(self) -> RuleSet:
        if self._ruleset is not None:
            return self._ruleset
        model = self.service.model
        if not model.catalog.rule_files:
            return EMPTY
        return model.memo(("rules",), lambda: rules_of_catalog(model.catalog).ruleset)

    # -- during a write ------------------------------------------------------------------------

    def before_write(self, connection: Connection, context: Context, change: RecordChange,
                     record: dict[str, Any]) -> Pending | None:
        """Run the triggered rules' record actions on ``record`` (changed in place)."""
        ruleset = self.ruleset
        rules = ruleset.for_entity(change.entity)
        if not rules:
            return None
        pending = Pending()
        entity = self.service.model.entity(change.entity)
        previous = change.before
        candidates = [(rule, trigger) for rule in rules if (trigger := _first_trigger(rule, change)) is not None]
        rounds: list[list[str]] = []
        while candidates:
            if len(context.chain) + len(rounds) >= MAX_CASCADE:
                raise _loop(context, rounds, change)
            start = dict(record)
            fired: list[str] = []
            for rule, trigger in candidates:
                decision = self._evaluate(connection, context, rule, trigger, record, previous, ruleset, entity)
                if decision is None:
                    continue
                pending.decisions.append(decision)
                if not decision.fired:
                    continue
                fired.append(rule.name)
                for action in rule.actions:
                    if action.phase == "effect":
                        pending.effects.append((rule, action, decision, previous))
                    elif change.action != "delete":
                        run = ActionRun(self.service, connection, rule_context(context, rule, entity.name,
                                                                                record.get("id")),
                                        rule.name, entity, ruleset, record.get("id"), previous)
                        decision.outcomes.append(_run(rule, action, run, record))
                if rule.stop:
                    break
            rounds.append(fired)
            pending.notes.update({k: v for k, v in record.items() if not _is_column(entity, k)})
            moved = {name for name in set(record) | set(start)
                     if record.get(name) != start.get(name) and _is_column(entity, name)}
            if not moved:
                break
            pending.changed.update({name: record.get(name) for name in moved})
            candidates = [(rule, trigger) for rule in rules
                          if (trigger := _change_trigger(rule, moved, start, record)) is not None]
            previous = start
        return pending

    def after_write(self, connection: Connection, context: Context, change: RecordChange,
                    pending: Pending | None) -> None:
        """Run the fired rules' effects, store the decisions, move the record's timers."""
        ruleset = self.ruleset
        if not ruleset.for_entity(change.entity):
            return
        entity = self.service.model.entity(change.entity)
        record = dict(change.after if change.after is not None else change.before or {})
        record.update(pending.notes if pending else {})
        record_id = change.record_id
        for rule, action, decision, previous in (pending.effects if pending else ()):
            run = ActionRun(self.service, connection, rule_context(context, rule, entity.name, record_id), rule.name,
                            entity, ruleset, record_id, previous)
            decision.outcomes.append(_run(rule, action, run, record))
        if pending and pending.decisions:
            write_decisions(connection, context, entity.name, record_id, pending.decisions)
        if change.action == "delete":
            time_triggers.cancel_all(connection, entity.name, record_id)  # type: ignore[arg-type]
            return
        for rule in ruleset.timed(entity.name):
            applies = self._condition(connection, context, rule, record, None, entity)[0]
            time_triggers.sync(connection, rule, record, applies, context.now, new=change.action == "create")

    # -- time and schedules ------------------------------------------------------------------

    def fire(self, connection: Connection, context: Context, rule: CompiledRule, trigger: Trigger,
             record_id: int) -> Decision | None:
        """Run ``rule`` on the stored record now (a time trigger came due, or a schedule)."""
        entity = self.service.model.entity(rule.entity)
        record = self.service.stored_record(connection, entity.name, record_id, for_update=True)
        ruleset = self.ruleset
        decision = self._evaluate(connection, context, rule, trigger, dict(record), None, ruleset, entity, force=True)
        assert decision is not None
        if not decision.fired:
            if context.explain:
                write_decisions(connection, context, entity.name, record_id, [decision])
            return decision
        acting = rule_context(context, rule, entity.name, record_id)
        changed = dict(record)
        for action in rule.actions:
            if action.phase == "record":
                run = ActionRun(self.service, connection, acting, rule.name, entity, ruleset, record_id)
                decision.outcomes.append(_run(rule, action, run, changed))
        values = {name: value for name, value in changed.items()
                  if record.get(name) != value and _is_column(entity, name)}
        if values:
            self.service.update(connection, acting, entity.name, record_id, {}, system_values=values,
                                note=f"by rule \"{rule.name}\" ({trigger.describe(entity.name)})")
            record = self.service.stored_record(connection, entity.name, record_id)
        for action in rule.actions:
            if action.phase == "effect":
                run = ActionRun(self.service, connection, acting, rule.name, entity, ruleset, record_id)
                decision.outcomes.append(_run(rule, action, run, {**changed, **record}))
        write_decisions(connection, context, entity.name, record_id, [decision])
        return decision

    # -- the pieces --------------------------------------------------------------------------

    def _condition(self, connection: Connection, context: Context, rule: CompiledRule, record: Mapping[str, Any],
                   previous: Mapping[str, Any] | None, entity: Any) -> tuple[bool, dict[str, Any]]:
        if rule.condition is None:
            return True, {}
        expanded = self.service.expand_lookups(connection, entity, dict(record), rule.condition.lookups)
        holds = bool(rule.condition(expanded, {"now": context.now, "previous": previous}))
        return holds, seen_values(rule.condition, expanded)

    def _evaluate(self, connection: Connection, context: Context, rule: CompiledRule, trigger: Trigger,
                  record: dict[str, Any], previous: Mapping[str, Any] | None, ruleset: RuleSet, entity: Any,
                  force: bool = False) -> Decision | None:
        holds, seen = self._condition(connection, context, rule, record, previous, entity)
        if not holds and not context.explain and not force:
            return None
        reason = None if holds else f"{rule.condition.source if rule.condition else ''} is false"
        return Decision(rule, trigger.describe(entity.name), holds, seen, reason, depth=len(context.chain))


def _is_column(entity: Any, name: str) -> bool:
    return entity.field(name) is not None or name in SYSTEM_COLUMNS


def _run(rule: CompiledRule, action: RuleAction, run: ActionRun, record: dict[str, Any]) -> Outcome:
    try:
        return action.run(run, record)
    except RuleLoop:
        raise
    except RecordError as error:
        raise RuleFailed(f"rule \"{rule.name}\" could not {action.kind}: {error}", error.errors) from error


def _first_trigger(rule: CompiledRule, change: RecordChange) -> Trigger | None:
    """The first of ``rule``'s triggers that ``change`` sets off."""
    event = {"create": "created", "update": "updated", "delete": "deleted"}[change.action]
    for trigger in rule.triggers:
        if isinstance(trigger, OnEvent) and trigger.event == event:
            return trigger
        if (isinstance(trigger, OnChange) and change.action != "delete" and change.after is not None
                and trigger.matches(change.before, change.after)):
            return trigger
        if isinstance(trigger, OnTransition) and change.transition == trigger.qualified:
            return trigger
    return None


def _change_trigger(rule: CompiledRule, moved: set[str], before: Mapping[str, Any],
                    after: Mapping[str, Any]) -> Trigger | None:
    for trigger in rule.triggers:
        if isinstance(trigger, OnChange) and trigger.field in moved and trigger.matches(before, after):
            return trigger
    return None


def _loop(context: Context, rounds: list[list[str]], change: RecordChange) -> RuleLoop:
    steps = [*context.chain, *(" + ".join(f"\"{n}\"" for n in names) for names in rounds if names)]
    where = f"{change.entity}" + (f" #{change.record_id}" if change.record_id else "")
    return RuleLoop(f"rules kept changing {where} after {MAX_CASCADE} rounds, so nothing was saved: "
                    + " → ".join(steps))
