"""The scheduler's work for rules: a time rule came due on a record, or a scheduled rule's hour came."""

from __future__ import annotations

from sqlalchemy import select

from xrm.rules.engine import RulesEngine
from xrm.rules.ruleset import OnSchedule
from xrm.rules.time_triggers import RULE_SCHEDULE, RULE_TIMER, due_at, schedule_next
from xrm.rules.timers import Postpone, TimerCall, timer_handler
from xrm.runtime.record_errors import NotFound

#: Records one run of a scheduled rule works through (the next run takes the rest).
SCHEDULED_BATCH = 1000


@timer_handler(RULE_TIMER)
def rule_came_due(call: TimerCall) -> None:
    engine = RulesEngine(call.service)
    rule = engine.ruleset.rule(call.payload["rule"])
    if rule is None or call.payload["trigger"] >= len(rule.time_triggers):
        return  # the rule was removed or changed since the timer was set
    trigger = rule.time_triggers[call.payload["trigger"]]
    try:
        record = call.service.stored_record(call.connection, rule.entity, call.payload["record_id"], for_update=True)
    except NotFound:
        return
    due = due_at(call.connection, trigger, record)
    if due is None:
        return
    if due > call.context.now:  # the anchor or the calendar moved since the timer was set: wait
        raise Postpone(due)
    engine.fire(call.connection, call.context, rule, trigger, record["id"])


@timer_handler(RULE_SCHEDULE)
def scheduled_rule(call: TimerCall) -> None:
    """Run the rule on every record its condition selects (in SQL), then book its next run."""
    engine = RulesEngine(call.service)
    rule = engine.ruleset.rule(call.payload["rule"])
    index = call.payload["trigger"]
    if rule is None or index >= len(rule.schedules):
        return
    trigger: OnSchedule = rule.schedules[index]
    table = call.service.model.table(rule.entity)
    statement = select(table.c.id).order_by(table.c.id).limit(SCHEDULED_BATCH)
    if rule.condition is not None and not rule.condition.uses_rule_functions:
        statement = rule.condition.apply_filter(statement, call.service.model.tables, now=call.context.now)
    for record_id in call.connection.execute(statement).scalars().all():
        engine.fire(call.connection, call.context, rule, trigger, record_id)
    schedule_next(call.connection, rule, index, call.context.now)
