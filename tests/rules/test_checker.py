"""The rules checker: parsed rules against the installed metadata (the crm pack), each problem with its place;
and the ``RuleSet`` it builds from the rules that checked clean.

Snippets are checked as the file ``rules/test.rules`` of the pack crm, with the names of ``rules_support.ORG``
(teams west_sales, dach, inside_sales, senior_reps, support; queues lead_pool, escalations, public_pool;
calendar support; users alice and bob).  ``place_of`` says where in the snippet a problem must point.
"""

from __future__ import annotations

import pytest

from tests.rules.rules_support import (
    BUNDLED_PACKS,
    FILE,
    ORG,
    at,
    bundled_org,
    bundled_rule_files,
    catalog,
    check,
    checks_clean,
    only_problem,
    place_of,
    problems,
    rule_with,
)
from xrm.metadata.model import RuleFile
from xrm.rules.checker import OrgNames, check_rules, rules_of_catalog
from xrm.rules.ruleset import AtTime, OnChange, OnEvent, OnSchedule, OnTransition, RuleSet


def codes(text: str, **options: object) -> list[str | None]:
    return [p.code for p in problems(text, **options)]


# -- the rule's entity -------------------------------------------------------------------------------


def test_the_entity_comes_from_on() -> None:
    (rule,) = checks_clean(rule_with(on="lead", when="created", then="raise rating")).ruleset.rules
    assert rule.entity == "lead"


def test_the_entity_comes_from_the_trigger() -> None:
    (rule,) = checks_clean('rule "r" when opportunity created then set next_step = \'call\'').ruleset.rules
    assert rule.entity == "opportunity"


def test_the_entity_comes_from_a_change_triggers_path() -> None:
    (rule,) = checks_clean('rule "r" when lead.region changed then raise rating').ruleset.rules
    assert (rule.entity, rule.triggers) == ("lead", (OnChange("region"),))


def test_the_entity_comes_from_a_later_trigger() -> None:
    (rule,) = checks_clean('rule "r" when updated or lead created then raise rating').ruleset.rules
    assert (rule.entity, rule.triggers) == ("lead", (OnEvent("updated"), OnEvent("created")))


def test_a_rule_without_an_entity() -> None:
    text = 'rule "Anything new" when created then raise rating'
    problem = only_problem(text)
    assert (problem.code, problem.severity) == ("no_entity", "error")
    assert problem.message == 'rule "Anything new" does not say which entity it is about'
    assert problem.hint == "write 'on lead' after its name, or name the entity in its trigger: 'when lead created'"
    assert at(problem) == place_of(text, '"Anything new"')


def test_an_unknown_entity_in_the_trigger() -> None:
    text = 'rule "r" when leed created then raise rating'
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.found) == ("unknown_entity", "there is no entity 'leed'", "leed")
    assert problem.hint == "did you mean 'lead'?"
    assert at(problem) == place_of(text, "leed")


def test_an_unknown_entity_after_on() -> None:
    text = 'rule "r" on leed when created then raise rating'
    problem = only_problem(text)
    assert (problem.code, problem.hint) == ("unknown_entity", "did you mean 'lead'?")
    assert at(problem) == place_of(text, "leed")


def test_triggers_on_two_entities() -> None:
    text = 'rule "r" when lead created or opportunity updated then raise rating'
    problem = only_problem(text)
    assert problem.code == "mixed_entities"
    assert problem.message == "a rule is about one entity: this one is about lead, not opportunity"
    assert problem.hint == "write a rule per entity"
    assert at(problem) == place_of(text, "opportunity")


def test_on_one_entity_and_a_trigger_of_another() -> None:
    text = 'rule "r" on lead when opportunity created then raise rating'
    assert at(only_problem(text)) == place_of(text, "opportunity")


def test_on_one_entity_and_a_transition_of_another() -> None:
    text = 'rule "r" on opportunity when lead transition qualify then set next_step = \'x\''
    problem = only_problem(text)
    assert problem.code == "mixed_entities"
    assert at(problem) == place_of(text, "lead")


def test_a_change_of_another_records_field() -> None:
    text = 'rule "r" on lead when territory.region changed then raise rating'
    problem = only_problem(text)
    assert problem.code == "field_path"
    assert problem.message == "'territory.region' changes on another record, which does not trigger rules on lead"
    assert at(problem) == place_of(text, "territory")


# -- unknown fields, pointing at the name ------------------------------------------------------------


def test_an_unknown_field_in_a_change_trigger() -> None:
    text = rule_with(when="regoin changed", then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.hint) == (
        "unknown_field", "unknown field 'regoin' on lead", "did you mean 'region'?")
    assert at(problem) == place_of(text, "regoin")


def test_an_unknown_field_after_the_entity_in_a_change_trigger_points_at_the_field() -> None:
    text = rule_with(on=None, when="lead.regoin changed", then="raise rating")
    assert at(only_problem(text)) == place_of(text, "regoin")


def test_an_unknown_field_in_a_condition_points_inside_it() -> None:
    text = rule_with(condition="region = 'west' and ratng = 'hot'", then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.hint) == ("expression", "unknown field 'ratng' on lead", "did you mean 'rating'?")
    assert at(problem) == place_of(text, "ratng")
    assert problem.file == FILE


def test_an_unknown_field_on_the_second_line_of_a_condition() -> None:
    text = rule_with(condition="region = 'west'\n     and ratng = 'hot'", then="raise rating")
    problem = only_problem(text)
    assert at(problem) == place_of(text, "ratng")
    assert problem.excerpt == "     and ratng = 'hot'\n         ^"


def test_a_problem_on_the_first_line_of_a_multi_line_condition_counts_the_conditions_column() -> None:
    text = rule_with(condition="ratng = 'hot'\n     and region = 'west'", then="raise rating")
    assert at(only_problem(text)) == place_of(text, "ratng")


def test_a_hash_comment_inside_a_multi_line_condition() -> None:
    checks_clean(rule_with(condition="rating = 'hot'  # hot ones\n     and company is not empty", then="raise rating"))


def test_a_dash_comment_inside_a_multi_line_condition() -> None:
    checks_clean(rule_with(condition="rating = 'hot'  -- hot ones\n     and company is not empty", then="raise rating"))


def test_an_unknown_field_set() -> None:
    text = rule_with(then="set regin = 'west'")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.hint, problem.found) == (
        "unknown_field", "unknown field 'regin' on lead", "did you mean 'region'?", "regin")
    assert at(problem) == place_of(text, "regin")


def test_an_unknown_field_in_a_value_on_the_next_line() -> None:
    text = rule_with(then="set region = 'west',\n           country = contry")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("expression", "unknown field 'contry' on lead")
    assert at(problem) == place_of(text, "contry")


def test_an_unknown_field_of_the_created_record() -> None:
    text = rule_with(then="create opportunity with nme = company")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.hint) == ("unknown_field", "unknown field 'nme' on opportunity", "did you mean 'name'?")
    assert at(problem) == place_of(text, "nme")


def test_values_of_a_created_record_are_read_from_the_rules_record() -> None:
    text = rule_with(then="create opportunity with name = compny")
    problem = only_problem(text)
    assert problem.message == "unknown field 'compny' on lead"
    assert at(problem) == place_of(text, "compny")


def test_an_unknown_entity_to_create() -> None:
    text = rule_with(then="create taks with subject = 'x'")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("unknown_entity", "there is no entity 'taks' to create")
    assert at(problem) == place_of(text, "taks")


def test_an_unknown_field_in_open_when() -> None:
    text = rule_with(then="assign least_loaded team 'dach' open when ratng = 'hot'")
    problem = only_problem(text)
    assert problem.message == "unknown field 'ratng' on lead"
    assert at(problem) == place_of(text, "ratng")


def test_several_problems_of_one_rule_are_all_reported_in_order() -> None:
    text = rule_with(when="regoin changed", condition="ratng = 'hot'", then="set regin = 'west'")
    assert [at(p) for p in problems(text)] == [place_of(text, "regoin"), place_of(text, "ratng"), place_of(text, "regin")]


# -- types and picklist options ----------------------------------------------------------------------


def test_a_number_field_set_to_text() -> None:
    text = rule_with(then="set number_of_employees = 'many'")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("expression", "expected integer here, found text")
    assert at(problem) == place_of(text, "'many'")


def test_a_created_records_field_set_to_the_wrong_type() -> None:
    text = rule_with(then="create opportunity with name = company, amount = 'lots'")
    problem = only_problem(text)
    assert problem.message == "expected decimal here, found text"
    assert at(problem) == place_of(text, "'lots'")


def test_a_condition_that_is_not_true_or_false() -> None:
    text = rule_with(condition="company", then="raise rating")
    problem = only_problem(text)
    assert problem.message == "expected boolean here, found text"
    assert at(problem) == place_of(text, "company")


def test_a_condition_may_ask_what_changed_and_what_was_before() -> None:
    checks_clean(rule_with(when="updated", condition="changed(region) and previous(region) = 'west'", then="raise rating"))


def test_a_picklist_set_to_an_option_it_does_not_have() -> None:
    text = rule_with(then="set region = 'westt'")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.found) == ("unknown_option", "'westt' is not an option of region", "westt")
    assert problem.expected is not None and problem.expected.startswith("'north', 'south', 'east', 'west'")
    assert at(problem) == place_of(text, "'westt'")


def test_a_picklist_set_to_an_option() -> None:
    checks_clean(rule_with(then="set region = 'west', rating = 'hot'"))


def test_a_change_to_an_option_the_picklist_does_not_have() -> None:
    text = rule_with(when="region changed to ('west', 'wset')", then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("unknown_option", "'wset' is not an option of region")
    assert problem.line == place_of(text, "'wset'")[0]


def test_a_change_from_an_option_the_picklist_does_not_have() -> None:
    text = rule_with(when="region changed from 'eastt' to 'west'", then="raise rating")
    assert [p.message for p in problems(text)] == ["'eastt' is not an option of region"]


@pytest.mark.parametrize("when", ["number_of_employees changed to 'many'", "do_not_call changed to 'yes'"])
def test_a_change_to_a_value_of_the_wrong_type(when: str) -> None:
    assert codes(rule_with(when=when, then="raise rating")) != []


# -- fields rules may not set ------------------------------------------------------------------------


def test_setting_a_formula_field() -> None:
    text = rule_with(then="set full_name = 'x'")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("computed_field", "lead.full_name is computed (formula), so rules cannot set it")
    assert at(problem) == place_of(text, "full_name")


def test_creating_a_record_with_a_formula_field() -> None:
    text = rule_with(then="create opportunity with name = 'x', net_amount = 1")
    assert codes(text) == ["computed_field"]


def test_setting_a_workflow_state() -> None:
    text = rule_with(then="set status = 'working'")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("workflow_field", "lead.status is a workflow's state: it changes by transitions")
    assert problem.hint == "use the action 'transition <name>'"
    assert at(problem) == place_of(text, "status")


def test_raising_a_workflow_state() -> None:
    assert codes(rule_with(then="raise status")) == ["workflow_field"]


def test_raising_a_field_that_is_not_a_picklist() -> None:
    text = rule_with(then="raise company")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("not_a_picklist", "only a picklist can be raised, and company is a text")
    assert at(problem) == place_of(text, "company")


# -- names of teams, queues, calendars, users, roles and templates -----------------------------------


@pytest.mark.parametrize(("then", "kind", "name", "hint"), [
    ("assign round_robin team 'west_sale'", "team", "west_sale", "did you mean 'west_sales'?"),
    ("assign to team 'dahc'", "team", "dahc", "did you mean 'dach'?"),
    ("assign least_loaded queue 'lead_poool'", "queue", "lead_poool", "did you mean 'lead_pool'?"),
    ("move_to_queue 'escalation'", "queue", "escalation", "did you mean 'escalations'?"),
    ("return_to_pool queue 'lead_pol'", "queue", "lead_pol", "did you mean 'lead_pool'?"),
    ("assign to user 'alise'", "user", "alise", "did you mean 'alice'?"),
    ("notify user 'bobb'", "user", "bobb", "did you mean 'bob'?"),
    ("notify team 'west_sale'", "team", "west_sale", "did you mean 'west_sales'?"),
    ("notify role 'sales_rp'", "role", "sales_rp", "did you mean 'sales_rep'?"),
])
def test_an_unknown_name_with_a_did_you_mean_hint(then: str, kind: str, name: str, hint: str) -> None:
    text = rule_with(then=then)
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.found, problem.hint) == (
        f"unknown_{kind}", f"there is no {kind} named '{name}'", name, hint)
    assert problem.line == place_of(text, then)[0]


def test_an_unknown_fallback_queue() -> None:
    text = rule_with(then="assign to team 'dach' fallback queue 'lead_pol'")
    problem = only_problem(text)
    assert (problem.code, problem.hint) == ("unknown_queue", "did you mean 'lead_pool'?")
    assert at(problem) == place_of(text, "assign")


def test_an_unknown_calendar() -> None:
    text = rule_with(when="4h after created in business_hours 'suport'", then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.hint) == (
        "unknown_calendar", "there is no calendar named 'suport'", "did you mean 'support'?")
    assert at(problem) == place_of(text, "4h")


def test_an_unknown_calendar_when_none_is_declared_says_where_to_declare_it() -> None:
    problem = only_problem(rule_with(when="4h after created in business_hours 'support'", then="raise rating"),
                           org=OrgNames())
    assert problem.hint == "declare it in pack.json under organization.calendars, or create it first"


def test_an_unknown_template() -> None:
    text = "notification 'welcome' subject 'Hi'\n" + rule_with(then="notify owner template 'welcom'")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.hint) == (
        "unknown_template", "there is no template named 'welcom'", "did you mean 'welcome'?")
    assert at(problem) == place_of(text, "notify")


def test_the_pool_queue_defaults_to_public_pool() -> None:
    problem = only_problem(rule_with(then="return_to_pool protect 7d"), org=OrgNames(queues=frozenset({"lead_pool"})))
    assert problem.message == "there is no queue named 'public_pool'"


def test_names_are_not_checked_without_org_names() -> None:
    checks_clean(rule_with(when="4h after created in business_hours 'any'",
                           then="assign round_robin team 'any' fallback queue 'any'\n  move_to_queue 'any'"), org=None)


def test_user_names_are_not_checked_when_users_are_not_known() -> None:
    checks_clean(rule_with(then="assign to user 'anyone'\n  notify user 'someone'"), org=OrgNames(users=None))


def test_roles_are_checked_against_the_catalog_even_without_org_names() -> None:
    assert codes(rule_with(then="notify role 'nobody'"), org=None) == ["unknown_role"]


# -- assigning and notifying people ------------------------------------------------------------------


@pytest.mark.parametrize("then", [
    "assign to user 'alice' open when status = 'new'",
    "assign to user 'alice' cap 3",
    "assign to queue 'lead_pool' cap 3",
    "assign to owner.manager open when status = 'new'",
])
def test_cap_and_open_when_only_for_round_robin_and_least_loaded(then: str) -> None:
    text = rule_with(then=then)
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("assign_option", "cap and 'open when' only apply to round_robin and least_loaded")
    assert at(problem) == place_of(text, "assign")


@pytest.mark.parametrize("then", [
    "assign round_robin team 'west_sales' skip absent cap 40 open when status in ('new', 'working') fallback queue 'lead_pool'",
    "assign least_loaded queue 'lead_pool' cap 3",
    "assign to team 'dach' skip absent fallback queue 'lead_pool'",
    "assign to queue 'lead_pool'",
    "assign to user 'alice' skip absent",
    "assign to owner.manager",
    "assign to created_by fallback queue 'lead_pool'",
    "notify owner, owner.manager, created_by, team 'dach', queue 'lead_pool', user 'bob', role 'sales_rep'",
])
def test_assignments_and_recipients_that_check(then: str) -> None:
    checks_clean(rule_with(then=then))


def test_assigning_to_a_field_that_is_not_a_user() -> None:
    text = rule_with(then="assign to company")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.found) == ("not_a_user", "'company' is not a user", "text")


def test_notifying_a_field_that_is_not_a_user() -> None:
    assert codes(rule_with(then="notify owner, city")) == ["not_a_user"]


@pytest.mark.parametrize("then", ["notify territory.manager", "assign to territory.manager"])
def test_a_lookups_user_field_named_manager(then: str) -> None:
    checks_clean(rule_with(then=then))


# -- notifications and their placeholders ------------------------------------------------------------


def test_known_placeholders_in_subject_and_message() -> None:
    checks_clean(rule_with(then="notify owner subject 'Lead {full_name}' message 'In {territory.name}, {city}'"))


def test_an_unknown_placeholder_in_a_subject() -> None:
    text = rule_with(then="notify owner subject 'Lead {nme}'")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("expression", "unknown field 'nme' on lead")
    assert problem.line == place_of(text, "{nme}")[0]


def test_an_unknown_placeholder_path_in_a_message() -> None:
    text = rule_with(then="notify owner subject 'ok' message 'x {company} {foo.bar}'")
    assert [p.message for p in problems(text)] == ["unknown field 'foo' on lead"]


def test_a_templates_placeholders_are_checked_where_it_is_used() -> None:
    text = "notification 'welcome' subject 'Hi {nme}'\n" + rule_with(then="notify owner template 'welcome'")
    problem = only_problem(text)
    assert problem.message == "unknown field 'nme' on lead"
    assert problem.line == place_of(text, "notify")[0]


def test_a_template_may_be_declared_after_the_rule_using_it() -> None:
    checks_clean(rule_with(then="notify owner template 'welcome'") + "notification 'welcome' subject 'Hi {full_name}'\n")


def test_a_template_declared_twice() -> None:
    text = "notification 'welcome' subject 'Hi'\nnotification 'welcome' subject 'Hi again'\n"
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("duplicate", "the notification 'welcome' is declared twice")
    assert at(problem) == place_of(text, "'welcome'", occurrence=2)


def test_a_template_declared_in_two_files() -> None:
    report = check_rules([("crm", RuleFile("rules/a.rules", "notification 'welcome' subject 'A'")),
                          ("crm", RuleFile("rules/b.rules", "notification 'welcome' subject 'B'"))], catalog(), ORG)
    (problem,) = report.problems
    assert (problem.file, problem.code) == ("rules/b.rules", "duplicate")


# -- campaigns and workflows -------------------------------------------------------------------------


@pytest.mark.parametrize("then", ["add_to_campaign 'Spring'", "add_to_campaign 'Spring' status 'sent'"])
def test_adding_a_lead_to_a_campaign(then: str) -> None:
    checks_clean(rule_with(then=then))


def test_adding_to_a_campaign_what_cannot_be_a_member() -> None:
    text = rule_with(on="opportunity", then="add_to_campaign 'Spring'")
    problem = only_problem(text)
    assert problem.code == "not_a_campaign_member"
    assert problem.message == "campaign members cannot be opportunities: campaign_member has no lookup to opportunity"
    assert at(problem) == place_of(text, "add_to_campaign")


def test_adding_to_a_campaign_with_a_status_it_does_not_have() -> None:
    problem = only_problem(rule_with(then="add_to_campaign 'Spring' status 'sennt'"))
    assert (problem.code, problem.message) == ("unknown_option", "'sennt' is not a campaign member status")
    assert problem.expected is not None and "'sent'" in problem.expected


def test_taking_an_unknown_transition() -> None:
    text = rule_with(then="transition qualfy")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("unknown_transition", "lead has no transition 'qualfy'")
    assert problem.expected == "start_working, nurture, qualify, disqualify, reopen, convert"
    assert at(problem) == place_of(text, "qualfy")


def test_taking_another_entitys_transition() -> None:
    assert codes(rule_with(on="opportunity", then="transition convert")) == ["unknown_transition"]


def test_triggered_by_an_unknown_transition() -> None:
    text = rule_with(when="transition qualfy", then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.hint) == ("unknown_transition", "did you mean 'qualify'?")
    assert at(problem) == place_of(text, "qualfy")


def test_a_transition_trigger_names_its_workflow() -> None:
    (rule,) = checks_clean(rule_with(when="transition qualify", then="raise rating")).ruleset.rules
    (trigger,) = rule.triggers
    assert trigger == OnTransition("lead_qualification", "qualify")
    assert trigger.qualified == "lead_qualification.qualify"


def test_starting_an_unknown_workflow() -> None:
    text = rule_with(then="start_workflow lead_qualificaton")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.expected) == (
        "unknown_workflow", "lead has no workflow 'lead_qualificaton'", "lead_qualification")
    assert at(problem) == place_of(text, "lead_qualificaton")


def test_starting_another_entitys_workflow() -> None:
    assert codes(rule_with(on="opportunity", then="start_workflow lead_qualification")) == ["unknown_workflow"]


# -- time triggers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("when", "anchor"), [
    ("4h after created", "created_at"), ("1d after updated", "updated_at"), ("4h after created_at", "created_at"),
    ("30d after last_activity_at", "last_activity_at"),
])
def test_time_triggers_count_from_created_updated_or_a_date_field(when: str, anchor: str) -> None:
    (rule,) = checks_clean(rule_with(when=when, then="raise rating")).ruleset.rules
    (trigger,) = rule.triggers
    assert isinstance(trigger, AtTime) and trigger.anchor == anchor


def test_a_time_trigger_before_a_date() -> None:
    (rule,) = checks_clean(rule_with(on="opportunity", when="2d before close_date", then="set next_step = 'call'")).ruleset.rules
    assert rule.triggers == (AtTime(2 * 86400, "before", "close_date"),)


def test_a_time_trigger_on_a_field_that_is_no_date() -> None:
    text = rule_with(when="4h after rating", then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("time_anchor", "'rating' is not a date or date-time field of lead")
    assert problem.hint == "time triggers count from created, updated or a date/datetime field"
    assert at(problem) == place_of(text, "rating")


def test_a_time_trigger_on_a_misspelt_date_field() -> None:
    problem = only_problem(rule_with(when="4h after last_actvity_at", then="raise rating"))
    assert (problem.code, problem.hint) == ("time_anchor", "did you mean 'last_activity_at'?")


def test_an_unknown_time_zone() -> None:
    text = rule_with(when="every day at 08:00 in 'Europe/Berlinn'", then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.message, problem.hint) == (
        "time_zone", "'Europe/Berlinn' is not a time zone", "an IANA name such as Europe/Berlin")
    assert problem.line == place_of(text, "every")[0]


def test_a_schedule_without_a_zone_runs_in_utc() -> None:
    (rule,) = checks_clean(rule_with(when="every weekday at 07:30", then="raise rating")).ruleset.rules
    assert rule.triggers == (OnSchedule("weekday", "07:30", "UTC", None),)


@pytest.mark.parametrize("when", ["lead created or 4h after created", "region changed or every day at 08:00",
                                  "every weekday at 08:00 or transition qualify"])
def test_time_and_record_triggers_in_one_rule(when: str) -> None:
    text = rule_with(on="lead", when=when, then="raise rating")
    problem = only_problem(text)
    assert (problem.code, problem.message) == ("mixed_triggers", 'rule "r" mixes time triggers with record events')
    assert problem.hint == "write two rules: one when the record changes, one at the time"
    assert at(problem) == place_of(text, '"r"')


def test_time_and_schedule_triggers_may_be_mixed() -> None:
    checks_clean(rule_with(when="4h after created or every day at 08:00", then="raise rating"))


# -- rule names --------------------------------------------------------------------------------------


def test_two_rules_of_a_pack_with_one_name() -> None:
    text = rule_with(when="created", then="raise rating") + rule_with(when="updated", then="raise rating")
    report = check(text)
    (problem,) = report.problems
    assert (problem.code, problem.message) == ("duplicate", 'pack crm has two rules named "r"')
    assert problem.hint == "rule names name their traces and timers, so they are unique per pack"
    assert at(problem) == place_of(text, '"r"', occurrence=2)
    (kept,) = report.ruleset.rules
    assert kept.triggers == (OnEvent("created"),)


def test_two_rules_with_one_name_in_two_files_of_a_pack() -> None:
    rule = rule_with(then="raise rating")
    report = check_rules([("crm", RuleFile("rules/a.rules", rule)), ("crm", RuleFile("rules/b.rules", rule))], catalog(), ORG)
    (problem,) = report.problems
    assert (problem.file, problem.code) == ("rules/b.rules", "duplicate")


def test_two_packs_may_each_have_a_rule_of_one_name() -> None:
    rule = rule_with(then="raise rating")
    report = check_rules([("crm", RuleFile("rules/a.rules", rule)), ("extra", RuleFile("rules/a.rules", rule))], catalog(), ORG)
    assert report.problems == ()
    assert [r.key for r in report.ruleset.rules] == ["crm:r", "extra:r"]


# -- loops -------------------------------------------------------------------------------------------

PING_PONG = """\
rule "A" on lead
  when rating changed
  then set region = 'west'

rule "B" on lead
  when region changed
  then set rating = 'hot'
"""


def test_two_rules_setting_each_others_watched_fields_are_a_loop() -> None:
    report = check(PING_PONG)
    (problem,) = report.problems
    assert (problem.severity, problem.code) == ("warning", "rule_loop")
    assert problem.message == 'these rules may trigger each other in a loop: "A" (sets region) → "B" (sets rating) → "A"'
    assert problem.hint == "the engine stops a loop at run time and refuses the change; make sure the conditions settle"
    assert at(problem) == place_of(PING_PONG, '"A"')
    assert problem.file == FILE


def test_a_loop_is_a_warning_so_its_rules_still_run() -> None:
    report = check(PING_PONG)
    assert report.errors == ()
    assert [r.name for r in report.ruleset.rules] == ["A", "B"]


def test_a_rule_watching_the_field_it_sets() -> None:
    problem = only_problem(rule_with(when="company changed", then="set company = concat(company, '!')"))
    assert (problem.severity, problem.code) == ("warning", "rule_loop")
    assert problem.message == 'these rules may trigger each other in a loop: "r" (sets company) → "r"'


def test_a_rule_watching_the_owner_it_assigns() -> None:
    problem = only_problem(rule_with(when="owner_id changed", then="assign to team 'dach'"))
    assert problem.message == 'these rules may trigger each other in a loop: "r" (sets owner_id) → "r"'


def test_a_rule_creating_records_of_its_own_entity_on_create() -> None:
    problem = only_problem(rule_with(when="created", then="create lead with last_name = 'x'"))
    assert problem.message == 'these rules may trigger each other in a loop: "r" (creates lead) → "r"'


def test_a_rule_taking_a_transition_on_update() -> None:
    problem = only_problem(rule_with(when="updated", then="transition qualify"))
    assert problem.message == 'these rules may trigger each other in a loop: "r" (takes a transition) → "r"'


def test_rules_setting_fields_nobody_watches_are_no_loop() -> None:
    checks_clean(rule_with(when="city changed", then="set country = 'DE'") +
                 'rule "s" on lead when rating changed then set region = \'west\'\n')


# -- the compiled rule set ---------------------------------------------------------------------------

ORDERED = """\
rule "low" on lead priority -5 when created then raise rating
rule "first zero" on lead when created then raise rating
rule "high" on lead priority 10 when created then raise rating
rule "second zero" on lead when updated then raise rating
rule "timed" on lead when 4h after created then raise rating
rule "opportunities" on opportunity priority 99 when created then set next_step = 'call'
rule "scheduled" on opportunity when every day at 08:00 then set next_step = 'call'
notification 'welcome' subject 'Hi {full_name}' message 'Hello'
"""


def ruleset() -> RuleSet:
    return checks_clean(ORDERED).ruleset


def test_an_entitys_rules_run_by_priority_then_file_order() -> None:
    assert [r.name for r in ruleset().for_entity("lead")] == ["high", "first zero", "second zero", "timed", "low"]


def test_the_rule_sets_rules_keep_file_order() -> None:
    assert [r.order for r in ruleset().rules] == list(range(7))


def test_file_order_continues_across_files() -> None:
    report = check_rules([("crm", RuleFile("rules/b.rules", 'rule "b" on lead when created then raise rating')),
                          ("crm", RuleFile("rules/a.rules", 'rule "a" on lead when created then raise rating'))], catalog(), ORG)
    assert [r.name for r in report.ruleset.for_entity("lead")] == ["b", "a"]


def test_for_entity_of_an_entity_without_rules() -> None:
    assert ruleset().for_entity("account") == ()


def test_timed_rules_of_an_entity() -> None:
    assert [r.name for r in ruleset().timed("lead")] == ["timed"]
    assert ruleset().timed("opportunity") == ()


def test_scheduled_rules_of_every_entity() -> None:
    assert [r.name for r in ruleset().scheduled] == ["scheduled"]


def test_a_rule_by_its_key() -> None:
    found = ruleset().rule("crm:high")
    assert found is not None
    assert (found.name, found.pack, found.file, found.line, found.priority, found.entity, found.stop) == (
        "high", "crm", FILE, 3, 10, "lead", False)
    assert ruleset().rule("crm:nothing") is None
    assert ruleset().rule("high") is None


def test_the_rule_set_keeps_the_templates() -> None:
    template = ruleset().templates["welcome"]
    assert (template.name, template.subject, template.message) == ("welcome", "Hi {full_name}", "Hello")


def test_an_empty_rule_set_is_false() -> None:
    assert not check("").ruleset
    assert ruleset()


def test_a_compiled_rule_knows_what_it_writes_and_whether_it_stops() -> None:
    (rule,) = checks_clean(rule_with(then="set region = 'west', rating = 'hot'\n  assign to team 'dach'\n  stop")).ruleset.rules
    assert rule.writes == {"region", "rating", "owner_id", "owner_queue_id"}
    assert rule.stop
    assert [a.kind for a in rule.actions] == ["set", "assign"]


def test_rules_with_errors_are_left_out_of_the_rule_set() -> None:
    text = rule_with(then="set regin = 'west'") + 'rule "ok" on lead when created then raise rating\n'
    report = check(text)
    assert [p.code for p in report.errors] == ["unknown_field"]
    assert [r.name for r in report.ruleset.rules] == ["ok"]


def test_a_file_with_a_syntax_error_does_not_stop_the_others() -> None:
    report = check_rules([("crm", RuleFile("rules/bad.rules", 'rule "x" on lead when created')),
                          ("crm", RuleFile("rules/good.rules", 'rule "ok" on lead when created then raise rating'))],
                         catalog(), ORG)
    (problem,) = report.problems
    assert (problem.file, problem.code, problem.message) == ("rules/bad.rules", "syntax", "the file ends in the middle of a rule")
    assert [r.key for r in report.ruleset.rules] == ["crm:ok"]
    assert [s.path for s in report.syntax] == ["rules/good.rules"]


@pytest.mark.parametrize(("when", "described"), [
    ("lead created", ["lead created"]),
    ("deleted", ["lead deleted"]),
    ("region changed", ["lead.region changed"]),
    ("lead.region changed from 'west' to ('east', 'dach')", ["lead.region changed from 'west' to ('dach', 'east')"]),
    ("rating changed to 'hot'", ["lead.rating changed to 'hot'"]),
    ("number_of_employees changed from 10", ["lead.number_of_employees changed from 10"]),
    ("transition qualify", ["lead transition qualify"]),
    ("4h after created in business_hours 'support'", ["4h after created_at in business hours of 'support'"]),
    ("1h 30m after last_activity_at or 2d before last_activity_at",
     ["90m after last_activity_at", "2d before last_activity_at"]),
    ("every weekday at 8:00 in 'Europe/Berlin'", ["every weekday at 08:00 (Europe/Berlin)"]),
    ("every day at 07:05", ["every day at 07:05 (UTC)"]),
    ("every 1h 30m", ["every 90m"]),
    ("every 2h", ["every 2h"]),
    ("every 7d", ["every 1w"]),
])
def test_trigger_descriptions(when: str, described: list[str]) -> None:
    text = rule_with(when=when, then="set description = 'seen'", on=None if when.startswith("lead") else "lead")
    (rule,) = checks_clean(text).ruleset.rules
    assert [t.describe(rule.entity) for t in rule.triggers] == described


def test_a_boolean_change_is_described_as_written() -> None:
    (rule,) = checks_clean(rule_with(when="do_not_call changed to true", then="raise rating")).ruleset.rules
    assert [t.describe("lead") for t in rule.triggers] == ["lead.do_not_call changed to true"]


# -- the bundled packs -------------------------------------------------------------------------------


def test_the_bundled_packs_ship_rule_files() -> None:
    assert "crm" in {pack for pack, _ in bundled_rule_files()}


def test_every_bundled_rule_file_checks_clean_with_the_three_packs_installed() -> None:
    installed = catalog(*BUNDLED_PACKS)
    report = check_rules(bundled_rule_files(), installed, bundled_org(installed))
    assert [str(p) for p in report.problems] == []
    assert len(report.ruleset.rules) == sum(len(s.rules) for s in report.syntax)


def test_the_installed_rule_files_of_the_catalog_check_clean() -> None:
    report = rules_of_catalog(catalog(*BUNDLED_PACKS))
    assert [str(p) for p in report.problems] == []
    assert {r.pack for r in report.ruleset.rules} == {pack for pack, _ in bundled_rule_files()}


def test_the_crm_lead_routing_runs_by_priority() -> None:
    report = rules_of_catalog(catalog("crm"))
    names = [r.name for r in report.ruleset.for_entity("lead")]
    assert names[:5] == ["Lead activity clock starts at creation", "Webinar leads join the nurture campaign",
                         "Hot leads to senior reps", "DACH leads by country", "West leads round robin"]
    assert [r.name for r in report.ruleset.timed("lead")] == ["Return unworked leads to the public pool"]
