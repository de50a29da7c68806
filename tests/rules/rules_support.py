"""Helpers shared by the tests of the rules parser and checker: parsing snippets, checking them against the
bundled packs, and finding where a piece of text is in a rule file (to assert problems point at it)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tests.conftest import PACKS_DIR
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import RuleFile
from xrm.metadata.org import platform_catalog
from xrm.metadata.problems import PackProblem
from xrm.metadata.validation import validate_pack
from xrm.rules import ast
from xrm.rules.checker import OrgNames, RulesReport, check_rules
from xrm.rules.parser import RuleSyntaxError, parse_rules

BUNDLED_PACKS = ("crm", "service", "partners")
FILE = "rules/test.rules"

#: The names a checked snippet may use: the crm pack's teams and queue, plus a few of the tests' own.
ORG = OrgNames(
    teams=frozenset({"west_sales", "dach", "inside_sales", "senior_reps", "support"}),
    queues=frozenset({"lead_pool", "escalations", "public_pool"}),
    calendars=frozenset({"support"}),
    users=frozenset({"alice", "bob"}),
)


@cache
def catalog(*packs: str) -> Catalog:
    """The platform with ``packs`` installed in order (default: crm); built once per test session."""
    installed = platform_catalog()
    for name in packs or ("crm",):
        installed = installed.with_pack(validate_pack(PACKS_DIR / name, installed).raise_for_errors())
    return installed


def bundled_org(installed: Catalog) -> OrgNames:
    """The teams, queues and calendars the installed packs declare (what ``validate_pack`` checks against)."""
    return OrgNames(installed.declared("teams"), installed.declared("queues"), installed.declared("calendars"))


# -- parsing ---------------------------------------------------------------------------------------


def parse(text: str) -> ast.RuleFileSyntax:
    return parse_rules(FILE, text)


def only_rule(text: str) -> ast.Rule:
    (rule,) = parse(text).rules
    return rule


def only_test(text: str) -> ast.RuleTest:
    (test,) = parse(text).tests
    return test


def rule_with(*, then: str, when: str = "created", on: str | None = "lead", condition: str | None = None) -> str:
    """The text of one rule named "r"; ``then`` holds its actions."""
    head = 'rule "r"' + (f" on {on}" if on else "")
    return f"{head}\n  when {when}\n" + (f"  if {condition}\n" if condition else "") + f"  then {then}\n"


def actions(then: str) -> tuple[ast.Action, ...]:
    return only_rule(rule_with(then=then)).actions


def only_action(then: str) -> ast.Action:
    (action,) = actions(then)
    return action


def triggers(when: str, on: str | None = "lead") -> tuple[ast.Trigger, ...]:
    return only_rule(rule_with(when=when, on=on, then="raise rating")).triggers


def only_trigger(when: str, on: str | None = "lead") -> ast.Trigger:
    (trigger,) = triggers(when, on)
    return trigger


def syntax_error(text: str) -> PackProblem:
    """The problem ``text`` is rejected with (the test fails when it parses)."""
    try:
        parse(text)
    except RuleSyntaxError as error:
        assert error.problem.file == FILE and error.problem.severity == "error", error.problem
        return error.problem
    raise AssertionError(f"parsed without error: {text!r}")


# -- checking --------------------------------------------------------------------------------------


def check(text: str, *, org: OrgNames | None = ORG, installed: Catalog | None = None, pack: str = "crm") -> RulesReport:
    return check_rules([(pack, RuleFile(FILE, text))], installed or catalog(), org)


def problems(text: str, **options: object) -> list[PackProblem]:
    return list(check(text, **options).problems)  # type: ignore[arg-type]


def only_problem(text: str, **options: object) -> PackProblem:
    found = problems(text, **options)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def checks_clean(text: str, **options: object) -> RulesReport:
    report = check(text, **options)  # type: ignore[arg-type]
    assert report.problems == (), [str(p) for p in report.problems]
    return report


# -- places ----------------------------------------------------------------------------------------


def place_of(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """(line, column), both 1-based, of the ``occurrence``-th ``needle`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def at(item: PackProblem | ast.Place) -> tuple[int | None, int | None]:
    """Where a problem or a syntax node is, as (line, column)."""
    return item.line, item.column


def bundled_rule_files() -> list[tuple[str, RuleFile]]:
    """Every ``.rules`` file under packs/, as (pack, file with its path inside the pack), in path order."""
    found = []
    for path in sorted(Path(PACKS_DIR).glob("*/rules/**/*.rules")):
        pack, *inside = path.relative_to(PACKS_DIR).parts
        found.append((pack, RuleFile("/".join(inside), path.read_text(encoding="utf-8"))))
    return found
