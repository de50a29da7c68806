"""Rule tests shipped in packs: ``test "..." given lead {...} when created at ... expect ...``.

``run_pack_tests`` builds a scratch SQLite database, installs the pack and the
packs it depends on (found beside it by name), gives every declared team and
queue two members, and runs each test as a dry run (``xrm.rules.dry_run``).
A test's record comes in through the API (so routing rules see it unowned)
unless ``as 'name'`` says a person creates it in the app, then it is theirs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine
from xrm.metadata.installer import install_pack
from xrm.metadata.loader import read_pack
from xrm.metadata.model import Pack
from xrm.migrate import upgrade
from xrm.rules import ast
from xrm.rules.dry_run import DryRun, DryRunResult, dry_run
from xrm.rules.expr import ExpressionError, check_expression
from xrm.rules.parser import parse_rules
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.users import add_user
from xrm.system_tables import org_tables

DEFAULT_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class TestOutcome:
    name: str
    file: str
    line: int
    failures: tuple[str, ...]
    result: DryRunResult | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def pack_with_dependencies(root: Path) -> list[Path]:
    """``root`` after the packs it depends on, found as sibling folders named like them (depth first)."""
    ordered: list[Path] = []

    def visit(path: Path) -> None:
        manifest = read_pack(path).manifest
        data = manifest.data if manifest is not None and isinstance(manifest.data, dict) else {}
        for name in data.get("depends_on") or {}:
            sibling = path.parent / name
            if sibling.is_dir() and sibling.resolve() not in [p.resolve() for p in ordered]:
                visit(sibling)
        if path.resolve() not in [p.resolve() for p in ordered]:
            ordered.append(path)

    visit(root)
    return ordered


def run_pack_tests(root: Path) -> list[TestOutcome]:
    """Run every rule test of the pack at ``root`` in a scratch database."""
    with tempfile.TemporaryDirectory(prefix="xrm-rule-tests-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'tests.db'}")
        try:
            upgrade(engine)
            context = Context(Actor.system("rule tests"), "cli", utc_now())
            pack = None
            for path in pack_with_dependencies(root):
                pack = install_pack(engine, path, context).pack
            assert pack is not None
            _staff(engine, pack)
            return [outcome for rule_file in pack.rule_files for outcome in _run_file(engine, pack, rule_file)]
        finally:
            engine.dispose()


def _staff(engine: Engine, pack: Pack) -> None:
    """Two members for every team and queue the pack declares, so assignments have someone to pick."""
    with engine.begin() as connection:
        for kind, member_table, column in (("teams", "team_member", "team"), ("queues", "queue_member", "queue")):
            table = org_tables[kind[:-1]]
            for item in pack.organization.get(kind, ()):
                group = connection.execute(select(table.c.id).where(table.c.name == item["name"])).scalar()
                for number in (1, 2):
                    user = add_user(connection, f"{item['name']}_{number}", now=utc_now(),
                                    display_name=f"{item['label']} {number}")
                    connection.execute(insert(org_tables[member_table]).values(
                        {column: group, "user": user, "version": 1, "created_at": utc_now(), "updated_at": utc_now()}))


def _run_file(engine: Engine, pack: Pack, rule_file: Any) -> Iterable[TestOutcome]:
    syntax = parse_rules(rule_file.path, rule_file.text)  # it installed, so it parses
    cache = CatalogCache(engine)
    for test in syntax.tests:
        yield run_test(engine, cache, test)


def _actor(engine: Engine, name: str | None) -> tuple[Actor, str]:
    if name is None:
        return Actor.system("rule test"), "api"
    with engine.begin() as connection:
        from xrm.system_tables import users

        user_id = connection.execute(select(users.c.id).where(users.c.username == name)).scalar()
        if user_id is None:
            user_id = add_user(connection, name, now=utc_now(), display_name=name.title())
    return Actor(name, user_id, frozenset(), is_admin=True), "ui"


def run_test(engine: Engine, cache: CatalogCache, test: ast.RuleTest) -> TestOutcome:
    model = cache.model()
    entity = model.catalog.entities.get(test.entity.text)
    if entity is None:
        return TestOutcome(test.name, test.file, test.place.line, (f"there is no entity '{test.entity.text}'",))
    problems: list[str] = []
    values = _values(test.given, entity, model.catalog.entities, problems)
    changes = _values(test.event.values, entity, model.catalog.entities, problems)
    related = []
    for name, pairs in test.related:
        other = model.catalog.entities.get(name.text)
        if other is None:
            problems.append(f"line {name.place.line}: there is no entity '{name.text}'")
            continue
        related.append((other.name, _people(engine, other, _values(pairs, other, model.catalog.entities, problems))))
    values, changes = _people(engine, entity, values), _people(engine, entity, changes)
    if problems:
        return TestOutcome(test.name, test.file, test.place.line, tuple(problems))
    actor, source = _actor(engine, test.as_user)
    at = test.event.at or DEFAULT_TIME
    run = DryRun(entity.name, values, test.event.kind, changes,
                 test.event.transition.text if test.event.transition else None, at, test.wait_until, tuple(related))
    result = dry_run(engine, Context(actor, source, at), run, catalog=cache)  # type: ignore[arg-type]
    failures = [failure for expectation in test.expectations
                if (failure := _check(expectation, result, model, entity, at)) is not None]
    return TestOutcome(test.name, test.file, test.place.line, tuple(failures), result)


def _people(engine: Engine, entity: Any, values: dict[str, Any]) -> dict[str, Any]:
    """User fields given as a user name (``approver: 'pat'``) hold that user (made up when missing)."""
    from xrm.system_tables import users

    resolved = dict(values)
    with engine.begin() as connection:
        for name, value in values.items():
            field = entity.field(name)
            if field is not None and field.type == "user" and isinstance(value, str):
                user_id = connection.execute(select(users.c.id).where(users.c.username == value)).scalar()
                resolved[name] = user_id or add_user(connection, value, now=utc_now(), display_name=value.title())
    return resolved


def _values(pairs: Sequence[tuple[ast.Name, ast.Source]], entity: Any, entities: Any, problems: list[str]) -> dict:
    values = {}
    for name, source in pairs:
        try:
            value = check_expression(source.text, entity, entities)({}, {"now": DEFAULT_TIME})
        except ExpressionError as error:
            problems.append(f"line {source.place.line}: {name.text}: {error.first.message}")
            continue
        values[name.text] = value.isoformat() if hasattr(value, "isoformat") else value
    return values


def _fired_plans(result: DryRunResult, model: Any) -> list[tuple[str, dict[str, Any]]]:
    from xrm.rules.engine import RulesEngine
    from xrm.runtime.records import RecordService

    ruleset = RulesEngine(RecordService(model)).ruleset
    plans = []
    for decision in result.fired:
        rule = ruleset.rule(f"{decision['pack']}:{decision['rule']}")
        for action in rule.actions if rule else ():
            plans.append((decision["rule"], dict(action.plan())))
    return plans


def _check(expectation: ast.Expectation, result: DryRunResult, model: Any, entity: Any,
           at: datetime) -> str | None:
    fired = [d["rule"] for d in result.fired if d["entity"] == entity.name]
    where = f"line {expectation.place.line}: "
    kind = expectation.kind
    if kind == "error":
        if result.error is None:
            return where + "expected the change to be refused, but it was saved"
        if expectation.target and expectation.target not in result.error["detail"]:
            return where + f"expected an error mentioning '{expectation.target}', got: {result.error['detail']}"
        return None
    if result.error is not None:
        details = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"]
                            for e in result.error["errors"])
        return where + f"the change was refused: {result.error['detail']}" + (f" ({details})" if details else "")
    if kind == "fired":
        return None if expectation.rule in fired else where + f"expected rule \"{expectation.rule}\" to fire; fired: {_list(fired)}"
    if kind == "not_fired":
        return where + f"rule \"{expectation.rule}\" fired" if expectation.rule in fired else None
    if kind == "nothing":
        return where + f"expected no rule to fire; fired: {_list(fired)}" if fired else None
    if kind == "value":
        return _check_value(expectation, result, entity, model, where)
    if kind == "timer":
        due = [t for t in result.timers if t["rule"] == expectation.rule]
        expected = expectation.at.astimezone(UTC).isoformat() if expectation.at else None
        if any(datetime.fromisoformat(t["due_at"]) == expectation.at for t in due):
            return None
        return where + f"expected a timer for \"{expectation.rule}\" at {expected}; pending: " + _list(
            [f"{t['rule']} at {t['due_at']}" for t in result.timers])
    plans = _fired_plans(result, model)
    if kind == "assign":
        wanted = {"kind": "assign", "group": expectation.group, "target": expectation.target}
        if any(all(plan.get(k) == v for k, v in wanted.items()) for _, plan in plans):
            return None
        return where + f"expected an assignment to {expectation.group} '{expectation.target}'; " + _plans(plans)
    assert kind == "effect"
    matching = [plan for _, plan in plans if plan["kind"] == expectation.effect
                and (expectation.target is None or plan.get("target") == expectation.target)]
    return None if matching else where + f"expected {expectation.effect}" + (
        f" '{expectation.target}'" if expectation.target else "") + "; " + _plans(plans)


def _check_value(expectation: ast.Expectation, result: DryRunResult, entity: Any, model: Any, where: str) -> str | None:
    assert expectation.field is not None and expectation.value is not None
    if result.record is None:
        return where + "there is no record to look at"
    try:
        wanted = check_expression(expectation.value.text, entity, model.catalog.entities)({}, {"now": DEFAULT_TIME})
    except ExpressionError as error:
        return where + error.first.message
    actual = result.record.get(expectation.field.text)
    if actual == wanted:
        return None
    return where + f"expected {expectation.field.text} = {wanted!r}, got {actual!r}"


def _list(items: Sequence[str]) -> str:
    return ", ".join(f'"{i}"' for i in items) or "none"


def _plans(plans: Sequence[tuple[str, dict[str, Any]]]) -> str:
    shown = [f"{rule}: {plan['kind']} {plan.get('group') or ''} {plan.get('target') or ''}".strip()
             for rule, plan in plans]
    return "actions of the fired rules: " + (", ".join(shown) or "none")
