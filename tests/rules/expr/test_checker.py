"""Checker: one test per error message, asserting line, column, message and hint; plus result types."""

from __future__ import annotations

import pytest

from xrm.rules.expr import ExpressionError


def problems(check, source: str, **options):  # noqa: ANN001, ANN003, ANN201
    with pytest.raises(ExpressionError) as raised:
        check(source, **options)
    return raised.value.problems


def only(check, source: str, **options):  # noqa: ANN001, ANN003, ANN201
    found = problems(check, source, **options)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("source", "type_name"), [
    ("annual_revenue > 1000", "boolean"),
    ("annual_revenue * 2", "decimal"),
    ("employees + 1", "integer"),
    ("employees / 2", "decimal"),
    ("close_date - 2d", "date"),
    ("last_activity_at + 4h", "datetime"),
    ("response_time * 2", "duration"),
    ("days_between(close_date, today())", "integer"),
    ("concat(last_name, '!')", "text"),
    ("if(is_hot, 1, 2.5)", "decimal"),
    ("account", "ref:account"),
    ("account.parent_account.industry", "text"),
    ("owner_id", "ref:user"),
    ("created_at < now()", "boolean"),
    ("tags", "list"),
])
def test_result_types(check, source: str, type_name: str) -> None:  # noqa: ANN001
    assert check(source).type == type_name


def test_unknown_field_suggests_a_close_name(check) -> None:  # noqa: ANN001
    problem = only(check, "annual_revenu > 10")
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message == "unknown field 'annual_revenu' on lead"
    assert problem.hint == "did you mean 'annual_revenue'?"
    assert problem.excerpt == "annual_revenu > 10\n^"


def test_unknown_field_inside_a_path_points_at_the_name(check) -> None:  # noqa: ANN001
    problem = only(check, "account.regoin = 'west'")
    assert (problem.column, problem.message, problem.hint) == (9, "unknown field 'regoin' on account",
                                                              "did you mean 'region'?")


def test_type_mismatch_points_at_the_operand(check) -> None:  # noqa: ANN001
    problem = only(check, "annual_revenue > 'x'")
    assert (problem.line, problem.column) == (1, 18)
    assert problem.message == "cannot compare decimal with text"
    assert problem.hint == "write the decimal without quotes"


def test_dates_and_datetimes_do_not_mix(check) -> None:  # noqa: ANN001
    problem = only(check, "created_at > today()")
    assert problem.message == "cannot compare datetime with date"
    assert problem.hint == "compare dates with dates (today()) and datetimes with datetimes (now())"


def test_wrong_arity(check) -> None:  # noqa: ANN001
    problem = only(check, "lower(last_name, email) = 'x'")
    assert (problem.column, problem.message, problem.expected) == (1, "lower() takes 1 argument, found 2",
                                                                  "lower(text)")


def test_unknown_function(check) -> None:  # noqa: ANN001
    problem = only(check, "lowr(email) = 'x'")
    assert (problem.message, problem.hint) == ("unknown function 'lowr'", "did you mean 'lower'?")


def test_function_without_parentheses(check) -> None:  # noqa: ANN001
    problem = only(check, "close_date < today")
    assert (problem.column, problem.hint) == (14, "call the function with parentheses: today()")


def test_not_a_lookup(check) -> None:  # noqa: ANN001
    problem = only(check, "employees.total = 1")
    assert (problem.column, problem.message) == (11, "'employees' is not a lookup, so '.total' cannot follow it")


def test_user_fields_cannot_be_followed(check) -> None:  # noqa: ANN001
    problem = only(check, "assigned_to.name = 'x'")
    assert problem.message == "'assigned_to' is a user; fields of users cannot be read in expressions yet"


def test_lookup_to_unknown_entity(lead) -> None:  # noqa: ANN001
    from xrm.rules.expr import check_expression
    with pytest.raises(ExpressionError) as raised:
        check_expression("account.name = 'x'", lead, {"lead": lead})
    assert raised.value.first.message == "lookup 'account' points to 'account', which is not a known entity"


def test_picklist_value_is_checked(check) -> None:  # noqa: ANN001
    problem = only(check, "status = 'nwe'")
    assert (problem.column, problem.message, problem.hint) == (10, "'nwe' is not a value of picklist 'status'",
                                                              "did you mean 'new'?")
    assert problem.expected == "new, working, qualified, lost"


def test_picklist_values_in_a_list_are_checked(check) -> None:  # noqa: ANN001
    problem = only(check, "status in ('new', 'qualifed')")
    assert (problem.column, problem.hint) == (19, "did you mean 'qualified'?")


def test_comparison_with_null(check) -> None:  # noqa: ANN001
    problem = only(check, "email != null")
    assert (problem.column, problem.message, problem.hint) == (10, "a comparison with null is never true",
                                                              "write 'email is not empty'")


def test_ordering_booleans(check) -> None:  # noqa: ANN001
    assert only(check, "is_hot < true").message == "'<' does not apply to boolean; only = and != do"


def test_arithmetic_mismatch_with_hint(check) -> None:  # noqa: ANN001
    problem = only(check, "close_date - close_date", expected=None)
    assert problem.message == "cannot apply '-' to date and date"
    assert problem.hint == "use days_between(a, b) for the days between two dates"


def test_like_needs_a_pattern_literal(check) -> None:  # noqa: ANN001
    assert only(check, "email like last_name").message == "like needs a pattern in quotes"


def test_in_needs_a_list(check) -> None:  # noqa: ANN001
    assert only(check, "email in last_name").message == "'in' needs a list, found text"


def test_lists_hold_constants(check) -> None:  # noqa: ANN001
    problem = only(check, "email in ('a', last_name)")
    assert problem.message == "lists may only hold constants such as 'west' or 42 (not fields or null)"


def test_stray_list(check) -> None:  # noqa: ANN001
    assert only(check, "('a', 'b') = email").message == "a list (...) can only follow 'in' or 'not in'"


def test_round_places(check) -> None:  # noqa: ANN001
    assert only(check, "round(score, 12)").message == "the number of decimal places must be a whole number from 0 to 10"


def test_rule_functions_need_a_rule_context(check) -> None:  # noqa: ANN001
    assert only(check, "changed(status)").message == "changed() can only be used in rule conditions"
    assert check("changed(status) and previous(status) = 'new'", rule_context=True).type == "boolean"


def test_expected_type(check) -> None:  # noqa: ANN001
    problem = only(check, "annual_revenue + 1", expected="boolean")
    assert (problem.column, problem.message) == (1, "expected boolean here, found decimal")
    assert check("employees * 2", expected="decimal").type == "integer"
    assert check("annual_revenue", expected="currency").type == "decimal"


def test_all_problems_are_collected_in_source_order(check) -> None:  # noqa: ANN001
    found = problems(check, "foo = 1 and\n  annual_revenue > 'x' and lowr(email) = 'a'")
    assert [(p.line, p.column) for p in found] == [(1, 1), (2, 20), (2, 28)]
    assert found[1].excerpt == "  annual_revenue > 'x' and lowr(email) = 'a'\n                   ^"


def test_too_large_integer(check) -> None:  # noqa: ANN001
    assert only(check, "employees > 99999999999999999999").message == "this number is too large"
