"""The rules parser: ``.rules`` text → the frozen AST of ``xrm.rules.ast``, and syntax errors as ``PackProblem``s.

Nothing here looks at metadata: names of entities, fields, teams... are only parsed (the checker's tests
check them).  Places are 1-based (line, column); ``place_of`` finds where a piece of text is, so that the
tests say *what* a node points at rather than a bare number.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.rules.rules_support import (
    FILE,
    actions,
    at,
    only_action,
    only_rule,
    only_test,
    only_trigger,
    parse,
    place_of,
    rule_with,
    syntax_error,
    triggers,
)
from xrm.rules import ast
from xrm.rules.parser import MAX_FILE_LENGTH

# -- files -------------------------------------------------------------------------------------------


def test_an_empty_file_declares_nothing() -> None:
    syntax = parse("")
    assert (syntax.rules, syntax.templates, syntax.tests) == ((), (), ())


def test_a_file_of_comments_declares_nothing() -> None:
    syntax = parse("-- a dash comment\n# a hash comment\n\n   -- indented\n")
    assert (syntax.rules, syntax.templates, syntax.tests) == ((), (), ())


def test_the_syntax_keeps_its_path_and_text() -> None:
    text = rule_with(then="raise rating")
    syntax = parse(text)
    assert (syntax.path, syntax.text) == (FILE, text)
    assert syntax.rules[0].file == FILE


def test_rules_templates_and_tests_keep_their_file_order() -> None:
    syntax = parse(
        'rule "one" on lead when created then raise rating\n'
        "notification 'first' subject 'S1'\n"
        'test "t1" given lead {} when created expect no rules\n'
        'rule "two" on lead when updated then raise rating\n'
        "notification 'second' subject 'S2'\n"
        'test "t2" given lead {} when created expect no rules\n'
    )
    assert [r.name for r in syntax.rules] == ["one", "two"]
    assert [t.name for t in syntax.templates] == ["first", "second"]
    assert [t.name for t in syntax.tests] == ["t1", "t2"]


def test_the_ast_is_frozen() -> None:
    rule = only_rule(rule_with(then="raise rating"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.name = "other"  # type: ignore[misc]


def test_dash_and_hash_comments_are_ignored_anywhere_between_tokens() -> None:
    text = (
        "-- routing\n"
        "# more routing\n"
        'rule "r" on lead -- after the name\n'
        "  when created # after the trigger\n"
        "  -- a whole line\n"
        "  then set region = 'west', # between assignments\n"
        "           country = 'US' -- after the value\n"
        "  stop # after stop\n"
    )
    rule = only_rule(text)
    (set_fields,) = rule.actions
    assert isinstance(set_fields, ast.SetFields)
    assert [(a.field.text, a.value.text) for a in set_fields.assignments] == [("region", "'west'"), ("country", "'US'")]
    assert rule.stop


def test_comment_markers_inside_text_are_text() -> None:
    (set_fields,) = actions("set description = 'a -- b # c'")
    assert isinstance(set_fields, ast.SetFields)
    assert set_fields.assignments[0].value.text == "'a -- b # c'"


# -- rule heads --------------------------------------------------------------------------------------


def test_a_rule_has_its_name_priority_zero_and_no_stop_by_default() -> None:
    rule = only_rule('rule "West leads round robin" when lead created then raise rating')
    assert (rule.name, rule.priority, rule.entity, rule.stop, rule.condition) == ("West leads round robin", 0, None, False, None)


@pytest.mark.parametrize(("written", "priority"), [("10", 10), ("-5", -5), ("0", 0)])
def test_priority_is_a_signed_whole_number(written: str, priority: int) -> None:
    assert only_rule(f'rule "r" priority {written} on lead when created then raise rating').priority == priority


def test_priority_and_on_may_come_in_either_order() -> None:
    first = only_rule('rule "r" priority 5 on lead when created then raise rating')
    second = only_rule('rule "r" on lead priority 5 when created then raise rating')
    assert (first.priority, first.entity.text) == (second.priority, second.entity.text) == (5, "lead")


def test_stop_ends_the_rule() -> None:
    rule = only_rule(rule_with(then="raise rating\n  stop"))
    assert rule.stop


def test_escaped_double_quotes_in_a_rule_name() -> None:
    assert only_rule(r'rule "say \"hi\"" on lead when created then raise rating').name == 'say "hi"'


def test_the_rule_points_at_its_name_and_its_entity() -> None:
    text = 'rule "Hot leads" priority 30 on lead\n  when created\n  then raise rating\n'
    rule = only_rule(text)
    assert at(rule.place) == place_of(text, '"Hot leads"')
    assert at(rule.entity.place) == place_of(text, "lead\n")


# -- triggers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["created", "updated", "deleted"])
def test_record_event_naming_the_entity(event: str) -> None:
    trigger = only_trigger(f"lead {event}", on=None)
    assert isinstance(trigger, ast.RecordEvent)
    assert (trigger.event, trigger.entity.text) == (event, "lead")


@pytest.mark.parametrize("event", ["created", "updated", "deleted"])
def test_record_event_of_the_rules_entity(event: str) -> None:
    rule = only_rule(rule_with(when=event, then="raise rating"))
    (trigger,) = rule.triggers
    assert isinstance(trigger, ast.RecordEvent)
    assert (trigger.event, trigger.entity, rule.entity.text) == (event, None, "lead")


def test_field_changed() -> None:
    trigger = only_trigger("region changed")
    assert trigger == ast.FieldChanged(ast.Name("region", trigger.place), None, None, trigger.place)


def test_field_changed_with_the_entity_from_one_value_to_several() -> None:
    trigger = only_trigger("lead.region changed from 'a' to ('b','c')", on=None)
    assert isinstance(trigger, ast.FieldChanged)
    assert (trigger.path.text, trigger.before, trigger.after) == ("lead.region", ("a",), ("b", "c"))


def test_field_changed_to_only() -> None:
    trigger = only_trigger("status changed to 'working'")
    assert isinstance(trigger, ast.FieldChanged)
    assert (trigger.before, trigger.after) == (None, ("working",))


@pytest.mark.parametrize(("written", "value"), [
    ("'new'", "new"), ("42", 42), ("-7", -7), ("1.50", Decimal("1.50")), ("true", True), ("false", False),
    (r"'it\'s'", "it's"),
])
def test_changed_constants_keep_their_type(written: str, value: object) -> None:
    trigger = only_trigger(f"amount changed from {written}")
    assert isinstance(trigger, ast.FieldChanged)
    assert trigger.before == (value,)
    assert type(trigger.before[0]) is type(value)


def test_transition_taken() -> None:
    trigger = only_trigger("transition qualify")
    assert isinstance(trigger, ast.TransitionTaken)
    assert (trigger.transition.text, trigger.entity) == ("qualify", None)


def test_transition_taken_naming_the_entity() -> None:
    trigger = only_trigger("lead transition qualify", on=None)
    assert isinstance(trigger, ast.TransitionTaken)
    assert (trigger.transition.text, trigger.entity.text) == ("qualify", "lead")


def test_time_after_in_business_hours() -> None:
    trigger = only_trigger("4h after created_at in business_hours 'support'")
    assert isinstance(trigger, ast.RelativeTime)
    assert (trigger.seconds, trigger.side, trigger.anchor.text, trigger.calendar) == (4 * 3600, "after", "created_at", "support")


def test_time_before_a_date() -> None:
    trigger = only_trigger("2d before close_date", on="opportunity")
    assert isinstance(trigger, ast.RelativeTime)
    assert (trigger.seconds, trigger.side, trigger.anchor.text, trigger.calendar) == (2 * 86400, "before", "close_date", None)


def test_durations_of_a_time_trigger_add_up() -> None:
    trigger = only_trigger("1h 30m after last_activity_at")
    assert isinstance(trigger, ast.RelativeTime)
    assert trigger.seconds == 90 * 60


@pytest.mark.parametrize("anchor", ["created", "updated", "created_at"])
def test_a_time_trigger_may_count_from_created_or_updated(anchor: str) -> None:
    trigger = only_trigger(f"30d after {anchor}")
    assert isinstance(trigger, ast.RelativeTime)
    assert trigger.anchor.text == anchor


def test_every_weekday_at_a_time_in_a_zone() -> None:
    trigger = only_trigger("every weekday at 08:00 in 'Europe/Berlin'")
    assert trigger == ast.Scheduled("weekday", "08:00", "Europe/Berlin", None, trigger.place)


def test_every_day_at_a_one_digit_hour_is_padded() -> None:
    trigger = only_trigger("every day at 7:05")
    assert isinstance(trigger, ast.Scheduled)
    assert (trigger.days, trigger.clock, trigger.zone, trigger.interval) == ("day", "07:05", None, None)


@pytest.mark.parametrize("day", ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
def test_every_named_day(day: str) -> None:
    trigger = only_trigger(f"every {day} at 23:59")
    assert isinstance(trigger, ast.Scheduled)
    assert (trigger.days, trigger.clock) == (day, "23:59")


@pytest.mark.parametrize(("written", "seconds"), [("15m", 900), ("1h 30m", 5400), ("1m", 60), ("90s", 90), ("1w", 604800)])
def test_every_interval(written: str, seconds: int) -> None:
    trigger = only_trigger(f"every {written}")
    assert trigger == ast.Scheduled(None, None, None, seconds, trigger.place)


def test_several_triggers_joined_by_or_keep_their_order() -> None:
    found = triggers("lead created or lead.region changed\n    or lead transition qualify or lead deleted", on=None)
    assert [type(t).__name__ for t in found] == ["RecordEvent", "FieldChanged", "TransitionTaken", "RecordEvent"]


def test_time_and_schedule_triggers_joined_by_or() -> None:
    found = triggers("4h after created or every day at 08:00 in 'UTC' or 2d before last_activity_at")
    assert [type(t).__name__ for t in found] == ["RelativeTime", "Scheduled", "RelativeTime"]


def test_an_interval_schedule_followed_by_or() -> None:
    found = triggers("every 15m or every day at 08:00")
    assert [type(t).__name__ for t in found] == ["Scheduled", "Scheduled"]


def test_trigger_places_point_at_where_each_trigger_starts() -> None:
    text = rule_with(on=None, when="lead created or region changed or lead transition qualify or 4h after created_at",
                     then="raise rating")
    created, changed, transition, timed = only_rule(text).triggers
    assert at(created.place) == place_of(text, "lead created")
    assert at(changed.place) == at(changed.path.place) == place_of(text, "region changed")
    assert at(transition.place) == place_of(text, "lead transition")
    assert at(transition.transition.place) == place_of(text, "qualify")
    assert at(timed.place) == place_of(text, "4h")
    assert at(timed.anchor.place) == place_of(text, "created_at")


def test_an_event_without_entity_points_at_the_event() -> None:
    text = rule_with(when="updated", then="raise rating")
    (trigger,) = only_rule(text).triggers
    assert at(trigger.place) == place_of(text, "updated")


def test_a_schedule_points_at_every() -> None:
    text = rule_with(when="every day at 08:00", then="raise rating")
    (trigger,) = only_rule(text).triggers
    assert at(trigger.place) == place_of(text, "every")


# -- field names that look like keywords -------------------------------------------------------------


def test_keyword_like_field_names_in_a_condition() -> None:
    rule = only_rule(rule_with(condition="priority = 'high' and status = 'new' and created_by is empty and owner_id is not empty",
                               then="raise rating"))
    assert rule.condition.text == "priority = 'high' and status = 'new' and created_by is empty and owner_id is not empty"


def test_keyword_like_field_names_as_set_targets() -> None:
    (set_fields,) = actions("set priority = 'high', status = 'new', created_by = 1, owner_id = 2")
    assert isinstance(set_fields, ast.SetFields)
    assert [a.field.text for a in set_fields.assignments] == ["priority", "status", "created_by", "owner_id"]


@pytest.mark.parametrize("name", ["priority", "status", "created_by", "owner_id", "stop", "raise"])
def test_keyword_like_field_names_in_change_triggers(name: str) -> None:
    trigger = only_trigger(f"{name} changed")
    assert isinstance(trigger, ast.FieldChanged)
    assert trigger.path.text == name


def test_raise_priority() -> None:
    action = only_action("raise priority")
    assert isinstance(action, ast.RaiseField)
    assert action.field.text == "priority"


# -- conditions and their sources --------------------------------------------------------------------


def test_the_condition_is_kept_as_its_exact_text_and_place() -> None:
    text = rule_with(condition="owner_id is empty and rating = 'hot'", then="raise rating")
    condition = only_rule(text).condition
    assert condition.text == "owner_id is empty and rating = 'hot'"
    assert at(condition.place) == place_of(text, "owner_id")


def test_a_condition_over_several_lines_keeps_its_line_breaks_and_indentation() -> None:
    text = rule_with(condition="region = 'west'\n     and owner_id is empty -- unowned\n     and rating = 'hot'",
                     then="raise rating")
    condition = only_rule(text).condition
    assert condition.text == "region = 'west'\n     and owner_id is empty -- unowned\n     and rating = 'hot'"
    assert at(condition.place) == place_of(text, "region = ")


def test_a_value_ends_at_its_last_token_before_a_trailing_comment() -> None:
    text = rule_with(then="set region = 'west'   -- a comment\n       raise rating")
    set_fields, _ = only_rule(text).actions
    assert isinstance(set_fields, ast.SetFields)
    (assignment,) = set_fields.assignments
    assert assignment.value.text == "'west'"
    assert at(assignment.value.place) == place_of(text, "'west'")
    assert at(assignment.field.place) == place_of(text, "region")


def test_a_value_with_calls_lists_and_arithmetic() -> None:
    (set_fields,) = actions("set last_activity_at = now() - 2d, rating = 'hot'")
    assert isinstance(set_fields, ast.SetFields)
    assert [a.value.text for a in set_fields.assignments] == ["now() - 2d", "'hot'"]


# -- actions -----------------------------------------------------------------------------------------


def test_set_with_several_assignments() -> None:
    text = rule_with(then="set region = 'dach',\n           country = upper('de')")
    (set_fields,) = only_rule(text).actions
    assert isinstance(set_fields, ast.SetFields)
    assert [(a.field.text, a.value.text) for a in set_fields.assignments] == [("region", "'dach'"), ("country", "upper('de')")]
    assert at(set_fields.place) == place_of(text, "set")
    assert at(set_fields.assignments[1].field.place) == place_of(text, "country")
    assert at(set_fields.assignments[1].value.place) == place_of(text, "upper")


@pytest.mark.parametrize(("how", "strategy", "group", "target"), [
    ("round_robin team 'west_sales'", "round_robin", "team", "west_sales"),
    ("round_robin queue 'lead_pool'", "round_robin", "queue", "lead_pool"),
    ("least_loaded team 'inside_sales'", "least_loaded", "team", "inside_sales"),
    ("least_loaded queue 'lead_pool'", "least_loaded", "queue", "lead_pool"),
    ("to team 'dach'", "group", "team", "dach"),
    ("to queue 'lead_pool'", "group", "queue", "lead_pool"),
    ("to user 'alice'", "user", None, "alice"),
    ("to owner", "field", None, "owner"),
    ("to owner.manager", "field", None, "owner.manager"),
    ("to territory.manager", "field", None, "territory.manager"),
])
def test_assign_strategies(how: str, strategy: str, group: str | None, target: str) -> None:
    action = only_action(f"assign {how}")
    assert action == ast.Assign(strategy, group, target, skip_absent=False, cap=None, open_when=None,  # type: ignore[arg-type]
                                fallback_queue=None, place=action.place)


def test_assign_with_every_option() -> None:
    text = rule_with(then="assign round_robin team 'west_sales' skip absent cap 40\n"
                          "         open when status in ('new', 'working') fallback queue 'lead_pool'")
    (action,) = only_rule(text).actions
    assert isinstance(action, ast.Assign)
    assert (action.skip_absent, action.cap, action.fallback_queue) == (True, 40, "lead_pool")
    assert action.open_when.text == "status in ('new', 'working')"
    assert at(action.open_when.place) == place_of(text, "status in")
    assert at(action.place) == place_of(text, "assign")


def test_assign_options_in_any_order() -> None:
    action = only_action("assign least_loaded queue 'q' fallback queue 'pool' cap 3 skip absent")
    assert isinstance(action, ast.Assign)
    assert (action.skip_absent, action.cap, action.fallback_queue, action.open_when) == (True, 3, "pool", None)


def test_notify_several_recipients_with_template_subject_and_message() -> None:
    text = rule_with(then="notify owner, owner.manager, team 'dach', queue 'lead_pool', user 'bob', role 'sales_rep'\n"
                          "         template 'welcome' subject 'Lead {full_name}' message 'Call {phone}'")
    (action,) = only_rule(text).actions
    assert isinstance(action, ast.Notify)
    assert [(r.kind, r.name) for r in action.recipients] == [
        ("field", "owner"), ("field", "owner.manager"), ("team", "dach"), ("queue", "lead_pool"), ("user", "bob"),
        ("role", "sales_rep"),
    ]
    assert (action.template, action.subject, action.message) == ("welcome", "Lead {full_name}", "Call {phone}")
    assert at(action.recipients[2].place) == place_of(text, "team 'dach'")
    assert at(action.recipients[1].place) == place_of(text, "owner.manager")


def test_notify_without_options() -> None:
    action = only_action("notify owner")
    assert isinstance(action, ast.Notify)
    assert (action.template, action.subject, action.message) == (None, None, None)


def test_create_with_assignments() -> None:
    text = rule_with(then="create opportunity with name = 'Follow up ' + company, close_date = today() + 14d")
    (action,) = only_rule(text).actions
    assert isinstance(action, ast.CreateRecord)
    assert action.entity.text == "opportunity"
    assert [(a.field.text, a.value.text) for a in action.assignments] == [
        ("name", "'Follow up ' + company"), ("close_date", "today() + 14d")]
    assert at(action.entity.place) == place_of(text, "opportunity")


def test_create_without_values() -> None:
    action = only_action("create activity")
    assert action == ast.CreateRecord(ast.Name("activity", action.entity.place), (), action.place)


def test_add_to_campaign_with_and_without_status() -> None:
    with_status, without = actions("add_to_campaign 'Spring Webinar' status 'sent'\n       add_to_campaign 'Newsletter'")
    assert (with_status.campaign, with_status.status) == ("Spring Webinar", "sent")
    assert (without.campaign, without.status) == ("Newsletter", None)


def test_transition_start_workflow_move_to_queue_and_raise() -> None:
    text = rule_with(then="transition qualify\n  start_workflow lead_qualification\n  move_to_queue 'escalations'\n  raise rating")
    transition, start, move, lift = only_rule(text).actions
    assert isinstance(transition, ast.TakeTransition) and transition.transition.text == "qualify"
    assert isinstance(start, ast.StartWorkflow) and start.workflow.text == "lead_qualification"
    assert isinstance(move, ast.MoveToQueue) and move.queue == "escalations"
    assert isinstance(lift, ast.RaiseField) and lift.field.text == "rating"
    assert at(transition.transition.place) == place_of(text, "qualify")
    assert at(start.workflow.place) == place_of(text, "lead_qualification")
    assert at(move.place) == place_of(text, "move_to_queue")


@pytest.mark.parametrize(("written", "queue", "seconds"), [
    ("return_to_pool", None, None),
    ("return_to_pool queue 'lead_pool'", "lead_pool", None),
    ("return_to_pool protect 7d", None, 7 * 86400),
    ("return_to_pool queue 'lead_pool' protect 7d 12h", "lead_pool", 7 * 86400 + 12 * 3600),
    ("return_to_pool protect 1d queue 'lead_pool'", "lead_pool", 86400),
])
def test_return_to_pool(written: str, queue: str | None, seconds: int | None) -> None:
    action = only_action(written)
    assert action == ast.ReturnToPool(queue, seconds, action.place)


def test_actions_keep_their_order_across_lines() -> None:
    found = actions("set region = 'west'\n       assign to team 'west_sales'\n       notify owner\n       return_to_pool")
    assert [type(a).__name__ for a in found] == ["SetFields", "Assign", "Notify", "ReturnToPool"]


def test_text_escapes_are_resolved() -> None:
    action = only_action(r"move_to_queue 'it\'s'")
    assert isinstance(action, ast.MoveToQueue)
    assert action.queue == "it's"


# -- notification templates --------------------------------------------------------------------------


def test_notification_with_subject_and_message() -> None:
    text = "notification 'sla_breach'\n  subject 'Case {case_number} breached'\n  message 'Nobody answered.'\n"
    (template,) = parse(text).templates
    assert (template.name, template.subject, template.message, template.file) == (
        "sla_breach", "Case {case_number} breached", "Nobody answered.", FILE)
    assert at(template.place) == place_of(text, "'sla_breach'")


def test_notification_with_a_subject_only() -> None:
    (template,) = parse("notification 'short' subject 'Hello'").templates
    assert (template.subject, template.message) == ("Hello", None)


# -- rule tests --------------------------------------------------------------------------------------

FULL_TEST = """\
test "hot lead from Germany"
  given lead { last_name: 'Becker', country: 'DE', rating: 'hot' } as 'rep'
  when created at 2026-01-05T09:00+01:00
  wait until 2026-02-04T09:00Z
  expect rule "Hot leads"
  expect not rule "DACH leads"
  expect no rules
  expect set region = 'dach'
  expect assign to team 'senior_reps'
  expect assign to queue 'lead_pool'
  expect assign to user 'alice'
  expect notify
  expect create 'activity'
  expect add_to_campaign 'Spring'
  expect transition 'qualify'
  expect return_to_pool
  expect move_to_queue 'escalations'
  expect timer "Hot leads" at 2026-01-05T13:00Z
  expect error
  expect error 'no such queue'
"""


def test_a_rule_test_with_given_values_user_event_time_and_wait() -> None:
    test = only_test(FULL_TEST)
    assert (test.name, test.entity.text, test.as_user, test.file) == ("hot lead from Germany", "lead", "rep", FILE)
    assert [(name.text, value.text) for name, value in test.given] == [
        ("last_name", "'Becker'"), ("country", "'DE'"), ("rating", "'hot'")]
    assert test.event == ast.TestEvent("created", (), None, datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=1))))
    assert test.wait_until == datetime(2026, 2, 4, 9, 0, tzinfo=UTC)
    assert at(test.place) == place_of(FULL_TEST, '"hot lead from Germany"')
    assert at(test.given[1][1].place) == place_of(FULL_TEST, "'DE'")


def test_every_expectation_form() -> None:
    found = [(e.kind, e.rule, e.group, e.target, e.effect) for e in only_test(FULL_TEST).expectations]
    assert found == [
        ("fired", "Hot leads", None, None, None),
        ("not_fired", "DACH leads", None, None, None),
        ("nothing", None, None, None, None),
        ("value", None, None, None, None),
        ("assign", None, "team", "senior_reps", None),
        ("assign", None, "queue", "lead_pool", None),
        ("assign", None, "user", "alice", None),
        ("effect", None, None, None, "notify"),
        ("effect", None, None, "activity", "create"),
        ("effect", None, None, "Spring", "add_to_campaign"),
        ("effect", None, None, "qualify", "transition"),
        ("effect", None, None, None, "return_to_pool"),
        ("effect", None, None, "escalations", "move_to_queue"),
        ("timer", "Hot leads", None, None, None),
        ("error", None, None, None, None),
        ("error", None, None, "no such queue", None),
    ]


def test_expect_set_keeps_the_field_and_value_source() -> None:
    value = only_test(FULL_TEST).expectations[3]
    assert (value.field.text, value.value.text) == ("region", "'dach'")
    assert at(value.field.place) == place_of(FULL_TEST, "region")
    assert at(value.place) == place_of(FULL_TEST, "expect set")


def test_expect_timer_has_its_time() -> None:
    timer = only_test(FULL_TEST).expectations[13]
    assert timer.at == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


def test_a_test_updating_the_record_with_values() -> None:
    test = only_test('test "t" given lead {} when updated { status: \'working\', rating: \'hot\' } at 2026-01-05T09:00Z\n'
                     "  expect no rules")
    assert test.given == ()
    assert test.event.kind == "updated"
    assert [(n.text, v.text) for n, v in test.event.values] == [("status", "'working'"), ("rating", "'hot'")]
    assert (test.as_user, test.wait_until) == (None, None)


def test_a_test_taking_a_transition_at_a_time_with_seconds() -> None:
    test = only_test('test "t" given lead { } when transition qualify at 2026-01-05T09:00:30.5-08:00 expect no rules')
    assert test.event.kind == "transition"
    assert test.event.transition.text == "qualify"
    assert test.event.at == datetime(2026, 1, 5, 17, 0, 30, 500000, tzinfo=UTC)


def test_a_test_event_without_a_time() -> None:
    test = only_test('test "t" given lead { last_name: \'X\' } when deleted expect no rules')
    assert (test.event.kind, test.event.at) == ("deleted", None)


# -- syntax errors -----------------------------------------------------------------------------------


def test_missing_then_points_at_the_first_action() -> None:
    text = 'rule "r" on lead\n  when lead created\n  if owner_id is empty\n  assign to user \'x\'\n'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, "assign")
    assert (problem.message, problem.expected, problem.found, problem.code) == ("unexpected 'assign'", "'then'", "assign", "syntax")
    assert problem.excerpt == "  assign to user 'x'\n  ^"


def test_missing_then_before_an_action_has_a_hint() -> None:
    problem = syntax_error("rule \"r\" on lead when created if rating = 'hot' set region = 'west'")
    assert problem.hint == "a rule needs 'then' before its actions"


def test_missing_then_before_a_misspelt_action_has_a_hint() -> None:
    problem = syntax_error("rule \"r\" on lead when created\n  sett region = 'west'")
    assert problem.hint == "a rule needs 'then' before its actions"
    assert (problem.line, problem.column) == (2, 3)


def test_a_single_quoted_rule_name() -> None:
    text = "rule 'West leads' on lead when created then raise rating"
    problem = syntax_error(text)
    assert at(problem) == (1, 6)
    assert problem.message == "unexpected \"'West leads'\""
    assert problem.expected == 'a name in double quotes: "West leads round robin"'


def test_a_rule_unterminated_at_the_end_of_the_file_points_after_the_last_word() -> None:
    text = 'rule "r" when lead created\n  if rating = \'hot\'\n'
    problem = syntax_error(text)
    assert at(problem) == (2, len("  if rating = 'hot'") + 1)
    assert problem.message == "the file ends in the middle of a rule"
    assert problem.found == "the end of the file"
    assert problem.expected is not None and "'then'" in problem.expected
    assert problem.excerpt == "  if rating = 'hot'\n                   ^"


def test_a_rule_without_actions_at_the_end_of_the_file_lists_the_actions() -> None:
    problem = syntax_error('rule "r" on lead when created then')
    assert problem.expected == ("'add_to_campaign', 'assign', 'create', 'move_to_queue', 'notify', 'raise', "
                                "'return_to_pool', 'set', 'start_workflow', 'transition'")


@pytest.mark.parametrize("clock", ["25:00", "24:00", "08:60"])
def test_a_clock_that_is_no_time_of_day(clock: str) -> None:
    text = f'rule "r" on lead when every day at {clock} then raise rating'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, clock)
    assert (problem.message, problem.found, problem.code) == (f"{clock} is not a time of day", clock, "syntax")
    assert problem.hint == "write 24-hour times like 08:00 or 17:30"
    assert problem.excerpt == f"{text}\n{' ' * (place_of(text, clock)[1] - 1)}^"


@pytest.mark.parametrize("interval", ["30s", "59s", "0m"])
def test_a_schedule_more_often_than_every_minute(interval: str) -> None:
    text = f'rule "r" on lead\n  when every {interval}\n  then raise rating'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, interval)
    assert (problem.message, problem.found) == ("a schedule repeats at most every minute", interval)
    assert problem.hint == "write e.g. every 15m"


def test_a_test_time_without_a_zone() -> None:
    text = 'test "t"\n  given lead {}\n  when created at 2026-01-05T09:00\n  expect no rules'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, "2026")
    assert problem.message == "2026-01-05T09:00 has no time zone"
    assert problem.hint == "add Z for UTC or an offset like +01:00"


def test_a_test_time_that_does_not_exist() -> None:
    problem = syntax_error('test "t" given lead {} when created at 2026-02-30T09:00Z expect no rules')
    assert problem.message == "2026-02-30T09:00Z is not a valid date and time"


def test_a_wait_until_without_a_zone() -> None:
    problem = syntax_error('test "t" given lead {} when created at 2026-01-05T09:00Z wait until 2026-01-06T09:00 expect no rules')
    assert problem.message == "2026-01-06T09:00 has no time zone"


def test_a_cap_of_zero() -> None:
    text = "rule \"r\" on lead when created then assign round_robin team 'dach' cap 0"
    problem = syntax_error(text)
    assert at(problem) == place_of(text, "0")
    assert (problem.message, problem.found) == ("a cap is at least 1 open record", "0")


def test_a_negative_cap() -> None:
    problem = syntax_error("rule \"r\" on lead when created then assign round_robin team 'dach' cap -1")
    assert (problem.message, problem.expected) == ("unexpected '-1'", "a number")


@pytest.mark.parametrize("char", ["@", "$", "§", "`"])
def test_a_garbage_character(char: str) -> None:
    text = f'rule "r" on lead\n  when created\n  then raise rating {char}\n'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, char)
    assert (problem.message, problem.found) == (f"unexpected character {char!r}", char)
    assert problem.excerpt == f"  then raise rating {char}\n                    ^"


def test_an_unterminated_rule_name_hints_at_quotes() -> None:
    problem = syntax_error('rule "West leads on lead when created then raise rating')
    assert problem.message == "unexpected character '\"'"
    assert problem.hint == "rule and test names go in double quotes, text in single quotes"


def test_a_misspelt_event_lists_what_may_follow_the_entity() -> None:
    text = 'rule "r" when lead creatd then raise rating'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, "creatd")
    assert problem.message == "unexpected 'creatd'"
    assert problem.expected == "'.', 'changed', 'created', 'deleted', 'transition', 'updated'"


def test_a_syntax_error_on_a_later_line_names_that_line() -> None:
    text = 'rule "a" on lead when created then raise rating\n\nrule "b" on lead when created then raise rating rating\n'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, "rating", occurrence=3)
    assert str(problem).startswith(f"{FILE}:3:")


def test_a_file_too_long() -> None:
    problem = syntax_error("-" * (MAX_FILE_LENGTH + 1))
    assert at(problem) == (1, 1)
    assert problem.message == f"the file is longer than {MAX_FILE_LENGTH} characters"


@pytest.mark.parametrize("text", [
    'rule "r" on case when created then raisepriority',
    "rule \"r\" on lead when created then setregion = 'west'",
    'rule "r" on lead when created then return_to_poolprotect 7d',
    'rule "r" on lead priority5 when created then raise rating',
])
def test_a_keyword_glued_to_the_next_word_is_an_error(text: str) -> None:
    syntax_error(text)


def test_a_word_starting_with_stop_is_reported_whole() -> None:
    text = 'rule "r" on lead when created then raise rating\n  stopnow'
    problem = syntax_error(text)
    assert at(problem) == place_of(text, "stopnow")


@pytest.mark.parametrize(("text", "symbol"), [
    ('test "t" given lead x when created expect no rules', "'{'"),
    ('test "t" given lead { a 1 } when created expect no rules', "':'"),
    ("rule \"r\" on lead when created then set region 'west'", "'='"),
])
def test_expected_punctuation_reads_as_the_symbol(text: str, symbol: str) -> None:
    assert syntax_error(text).expected == symbol
