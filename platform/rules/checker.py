"""Checking rule files against the installed metadata: every problem with file, line and column.

``check_rules`` parses each file, resolves each rule's entity, checks its
triggers, its condition (a boolean expression that may use ``changed()`` and
``previous()``) and each action (through the action registry), and builds
the ``RuleSet`` the engine runs.  Names of teams, queues and calendars are
checked when ``org`` says which exist.  Rules that may trigger each other in
a loop are reported as warnings naming the cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from xrm.metadata.catalog import Catalog
from xrm.metadata.expression_checks import formula_cycles
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field, RuleFile
from xrm.metadata.problems import PackProblem
from xrm.metadata.suggest import did_you_mean
from xrm.rules import ast
from xrm.rules.actions import COMPILERS, RuleAction
from xrm.rules.actions.effects import TakeTransition
from xrm.rules.expr import CheckedExpression, ExpressionError, check_expression
from xrm.rules.expr.errors import excerpt
from xrm.rules.parser import RuleSyntaxError, parse_rules
from xrm.rules.ruleset import AtTime, CompiledRule, OnChange, OnEvent, OnSchedule, OnTransition, RuleSet, Template, Trigger

#: ``created``/``updated`` in a time trigger mean the system columns
ANCHOR_ALIASES = {"created": "created_at", "updated": "updated_at"}
TEMPORAL = ("date", "datetime")


@dataclass(frozen=True)
class OrgNames:
    """The teams, queues, calendars and users that exist (or a pack declares), for checking names."""

    teams: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    calendars: frozenset[str] = frozenset()
    users: frozenset[str] | None = None  # None: user names are not checked

    def names(self, kind: str) -> frozenset[str] | None:
        return {"team": self.teams, "queue": self.queues, "calendar": self.calendars, "user": self.users}.get(kind)


@dataclass(frozen=True)
class RulesReport:
    ruleset: RuleSet
    problems: tuple[PackProblem, ...]
    syntax: tuple[ast.RuleFileSyntax, ...] = ()

    @property
    def errors(self) -> tuple[PackProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


@dataclass
class _RuleCheck:
    """Checks one rule; implements ``xrm.rules.actions.base.ActionCheck`` for the action compilers."""

    file: ast.RuleFileSyntax
    catalog: Catalog
    org: OrgNames | None
    templates: Mapping[str, ast.NotificationTemplate]
    problems: list[PackProblem]
    entity: Entity = field(default=None)  # type: ignore[assignment]

    def report(self, place: ast.Place, message: str, severity: str = "error", **details: Any) -> None:
        self.problems.append(PackProblem(
            self.file.path, message, line=place.line, column=place.column,
            excerpt=excerpt(self.file.text, place.line, place.column), severity=severity, **details))  # type: ignore[arg-type]

    def expression(self, source: ast.Source, *, entity: Entity | None = None,
                   expected: str | None = None) -> CheckedExpression | None:
        try:
            return check_expression(source.text, entity or self.entity, self.catalog.entities, expected=expected,
                                    rule_context=True)
        except ExpressionError as error:
            for problem in error.problems:
                line = source.place.line + problem.line - 1
                column = problem.column + (source.place.column - 1 if problem.line == 1 else 0)
                self.report(ast.Place(line, column), problem.message, expected=problem.expected,
                            found=problem.found, hint=problem.hint, code="expression")
            return None

    def known(self, kind: Literal["team", "queue", "calendar", "user", "role", "template"], name: str,
              place: ast.Place) -> bool:
        if kind == "template":
            names: Iterable[str] | None = self.templates
        elif kind == "role":
            names = self.catalog.roles
        else:
            names = self.org.names(kind) if self.org is not None else None
        if names is None or name in names:
            return True
        where = {"team": "teams", "queue": "queues", "calendar": "calendars"}.get(kind)
        hint = did_you_mean(name, names)
        if hint is None and where:
            hint = f"declare it in pack.json under organization.{where}, or create it first"
        self.report(place, f"there is no {kind} named '{name}'", hint=hint, found=name, code=f"unknown_{kind}")
        return False

    def field(self, name: ast.Name, *, entity: Entity | None = None, settable: bool = False) -> Field | None:
        target = entity or self.entity
        found = target.field(name.text)
        if found is None:
            self.report(name.place, f"unknown field '{name.text}' on {target.name}",
                        hint=did_you_mean(name.text, target.field_names), found=name.text, code="unknown_field")
            return None
        if settable and get_field_type(found.type).computed:
            self.report(name.place, f"{target.name}.{found.name} is computed ({found.type}), so rules cannot set it",
                        code="computed_field")
            return None
        if settable and any(w.entity == target.name and w.field == found.name for w in self.catalog.workflows.values()):
            self.report(name.place, f"{target.name}.{found.name} is a workflow's state: it changes by transitions",
                        hint="use the action 'transition <name>'", code="workflow_field")
            return None
        return found


def check_rules(files: Sequence[tuple[str, RuleFile]], catalog: Catalog, org: OrgNames | None = None) -> RulesReport:
    """Check ``(pack, file)`` pairs against ``catalog``; the rule set holds the rules that checked clean."""
    problems: list[PackProblem] = []
    parsed: list[tuple[str, ast.RuleFileSyntax]] = []
    for pack, rule_file in files:
        try:
            parsed.append((pack, parse_rules(rule_file.path, rule_file.text)))
        except RuleSyntaxError as error:
            problems.append(error.problem)
    templates: dict[str, ast.NotificationTemplate] = {}
    for _, syntax in parsed:
        for template in syntax.templates:
            if template.name in templates:
                _RuleCheck(syntax, catalog, org, templates, problems).report(
                    template.place, f"the notification '{template.name}' is declared twice", code="duplicate")
            templates[template.name] = template
    rules: list[CompiledRule] = []
    seen: dict[tuple[str, str], ast.Rule] = {}
    for pack, syntax in parsed:
        for rule in syntax.rules:
            check = _RuleCheck(syntax, catalog, org, templates, problems)
            if (pack, rule.name) in seen:
                check.report(rule.place, f"pack {pack} has two rules named \"{rule.name}\"",
                             hint="rule names name their traces and timers, so they are unique per pack",
                             code="duplicate")
                continue
            seen[(pack, rule.name)] = rule
            compiled = _compile(rule, pack, len(rules), check)
            if compiled is not None:
                rules.append(compiled)
    problems += _loops(rules, {(r.pack, r.name): seen[(r.pack, r.name)] for r in rules}, parsed)
    kept = {name: Template(t.name, t.subject, t.message) for name, t in templates.items()}
    return RulesReport(RuleSet(tuple(rules), kept), tuple(problems), tuple(s for _, s in parsed))


def _rule_entity(rule: ast.Rule, check: _RuleCheck) -> Entity | None:
    named = rule.entity
    for trigger in rule.triggers:
        if named is None and isinstance(trigger, ast.RecordEvent | ast.TransitionTaken) and trigger.entity:
            named = trigger.entity
        if named is None and isinstance(trigger, ast.FieldChanged) and "." in trigger.path.text:
            first = trigger.path.text.split(".")[0]
            if first in check.catalog.entities:
                named = ast.Name(first, trigger.path.place)
    if named is None:
        check.report(rule.place, f"rule \"{rule.name}\" does not say which entity it is about",
                     hint="write 'on lead' after its name, or name the entity in its trigger: 'when lead created'",
                     code="no_entity")
        return None
    entity = check.catalog.entities.get(named.text)
    if entity is None:
        check.report(named.place, f"there is no entity '{named.text}'",
                     hint=did_you_mean(named.text, check.catalog.entities), found=named.text, code="unknown_entity")
    return entity


def _compile(rule: ast.Rule, pack: str, order: int, check: _RuleCheck) -> CompiledRule | None:
    entity = _rule_entity(rule, check)
    if entity is None:
        return None
    check.entity = entity
    before = len(check.problems)
    triggers = [t for t in (_trigger(trigger, check) for trigger in rule.triggers) if t is not None]
    condition = check.expression(rule.condition, expected="boolean") if rule.condition else None
    actions: list[RuleAction] = []
    for node in rule.actions:
        action = COMPILERS[type(node)](node, check)
        if action is not None:
            actions.append(action)
    timed = any(isinstance(t, AtTime | OnSchedule) for t in triggers)
    if timed and any(isinstance(t, OnEvent | OnChange | OnTransition) for t in triggers):
        check.report(rule.place, f"rule \"{rule.name}\" mixes time triggers with record events",
                     hint="write two rules: one when the record changes, one at the time", code="mixed_triggers")
    if any(e.severity == "error" for e in check.problems[before:]):
        return None
    return CompiledRule(rule.name, pack, rule.file, rule.place.line, rule.priority, order, entity.name,
                        tuple(triggers), condition, tuple(actions), rule.stop)


def _trigger(trigger: ast.Trigger, check: _RuleCheck) -> Trigger | None:
    entity = check.entity
    if isinstance(trigger, ast.RecordEvent):
        if trigger.entity is not None and trigger.entity.text != entity.name:
            return _other_entity(trigger.entity, check)
        return OnEvent(trigger.event)
    if isinstance(trigger, ast.FieldChanged):
        parts = trigger.path.text.split(".")
        if len(parts) > 1 and parts[0] == entity.name:
            parts = parts[1:]
        if len(parts) > 1:
            check.report(trigger.path.place, f"'{trigger.path.text}' changes on another record, which does not "
                         f"trigger rules on {entity.name}", hint=f"watch a field of {entity.name}", code="field_path")
            return None
        name = parts[0]
        field_ = entity.field(name)
        if field_ is None and name not in ("owner_id", "owner_queue_id"):
            offset = len(trigger.path.text) - len(name)
            at = ast.Place(trigger.path.place.line, trigger.path.place.column + offset)
            check.report(at, f"unknown field '{name}' on {entity.name}",
                         hint=did_you_mean(name, entity.field_names), found=name, code="unknown_field")
            return None
        kind = get_field_type(field_.type).value_type_of(field_) if field_ is not None else "integer"
        for values in (trigger.before, trigger.after):
            for value in values or ():
                if field_ is not None and field_.options and field_.option(str(value)) is None:
                    check.report(trigger.place, f"'{value}' is not an option of {name}",
                                 expected=", ".join(repr(o.value) for o in field_.options), code="unknown_option")
                elif not _fits(kind, value):
                    check.report(trigger.place, f"{name} holds {kind} values, so it never changes to {value!r}",
                                 found=repr(value), code="type")
        return OnChange(name, frozenset(trigger.before) if trigger.before is not None else None,
                        frozenset(trigger.after) if trigger.after is not None else None)
    if isinstance(trigger, ast.TransitionTaken):
        if trigger.entity is not None and trigger.entity.text != entity.name:
            return _other_entity(trigger.entity, check)
        found = [(w, t) for w in check.catalog.workflows.values() if w.entity == entity.name
                 for t in w.transitions if t.name == trigger.transition.text]
        if not found:
            names = [t.name for w in check.catalog.workflows.values() if w.entity == entity.name for t in w.transitions]
            check.report(trigger.transition.place, f"{entity.name} has no transition '{trigger.transition.text}'",
                         hint=did_you_mean(trigger.transition.text, names), code="unknown_transition")
            return None
        return OnTransition(found[0][0].name, found[0][1].name)
    if isinstance(trigger, ast.RelativeTime):
        anchor = ANCHOR_ALIASES.get(trigger.anchor.text, trigger.anchor.text)
        field_ = entity.field(anchor)
        kind = ("datetime" if anchor in ("created_at", "updated_at") else
                get_field_type(field_.type).value_type_of(field_) if field_ is not None else None)
        if kind not in TEMPORAL:
            check.report(trigger.anchor.place, f"'{trigger.anchor.text}' is not a date or date-time field of {entity.name}",
                         hint=did_you_mean(anchor, [f.name for f in entity.fields if f.type in TEMPORAL]) or
                         "time triggers count from created, updated or a date/datetime field", code="time_anchor")
            return None
        if trigger.calendar is not None and not check.known("calendar", trigger.calendar, trigger.place):
            return None
        return AtTime(trigger.seconds, trigger.side, anchor, trigger.calendar)
    assert isinstance(trigger, ast.Scheduled)
    zone = trigger.zone or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        check.report(trigger.place, f"'{zone}' is not a time zone", hint="an IANA name such as Europe/Berlin",
                     code="time_zone")
        return None
    return OnSchedule(trigger.days, trigger.clock, zone, trigger.interval)


_CONSTANT_TYPES = {"boolean": (bool,), "integer": (int,), "decimal": (int, Decimal), "text": (str,)}


def _fits(kind: str, value: Any) -> bool:
    """Whether a constant of ``changed from/to`` can be a value of a field of expression type ``kind``."""
    allowed = _CONSTANT_TYPES.get(kind)
    if allowed is None:
        return True  # dates and references: not written as constants here
    return isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)


def _other_entity(name: ast.Name, check: _RuleCheck) -> None:
    check.report(name.place, f"a rule is about one entity: this one is about {check.entity.name}, not {name.text}",
                 hint="write a rule per entity", code="mixed_entities")


def _loops(rules: Sequence[CompiledRule], sources: Mapping[tuple[str, str], ast.Rule],
           parsed: Sequence[tuple[str, ast.RuleFileSyntax]]) -> list[PackProblem]:
    """Warnings for rules that may keep triggering each other (the engine stops such loops at run time)."""
    edges: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
    for rule in rules:
        edges[(rule.pack, rule.name)] = frozenset((other.pack, other.name) for other in rules if _triggers(rule, other))
    texts = {syntax.path: syntax.text for _, syntax in parsed}
    by_key = {(r.pack, r.name): r for r in rules}
    problems = []
    for cycle in formula_cycles(edges):
        first = sources[cycle[0]]
        chain = " → ".join(f"\"{name}\" ({_why(by_key[node], by_key[cycle[(i + 1) % len(cycle)]])})"
                           for i, node in enumerate(cycle) for name in [node[1]])
        problems.append(PackProblem(
            first.file, f"these rules may trigger each other in a loop: {chain} → \"{cycle[0][1]}\"",
            line=first.place.line, column=first.place.column,
            excerpt=excerpt(texts.get(first.file, ""), first.place.line, first.place.column), severity="warning",
            hint="the engine stops a loop at run time and refuses the change; make sure the conditions settle",
            code="rule_loop"))
    return problems


def _triggers(rule: CompiledRule, other: CompiledRule) -> bool:
    """Whether what ``rule`` does may trigger ``other``."""
    for trigger in other.triggers:
        if isinstance(trigger, OnChange) and other.entity == rule.entity and trigger.field in rule.writes:
            return True
        if isinstance(trigger, OnEvent) and trigger.event == "created" and any(
                a.creates == other.entity for a in rule.actions):
            return True
        if isinstance(trigger, OnTransition | OnEvent) and other.entity == rule.entity and any(
                isinstance(a, TakeTransition) and (isinstance(trigger, OnEvent) and trigger.event == "updated"
                                                   or getattr(trigger, "transition", None) == a.transition)
                for a in rule.actions):
            return True
    return False


def _why(rule: CompiledRule, other: CompiledRule) -> str:
    for trigger in other.triggers:
        if isinstance(trigger, OnChange) and trigger.field in rule.writes:
            return f"sets {trigger.field}"
        if isinstance(trigger, OnEvent) and trigger.event == "created":
            return f"creates {other.entity}"
    return "takes a transition"


def org_names(connection: Any) -> OrgNames:
    """The teams, queues, calendars and users of a database."""
    from sqlalchemy import select

    from xrm.system_tables import org_tables, users

    def names(table: Any, column: str = "name") -> frozenset[str]:
        return frozenset(connection.execute(select(table.c[column])).scalars())

    return OrgNames(names(org_tables["team"]), names(org_tables["queue"]), names(org_tables["business_calendar"]),
                    names(users, "username"))


def rules_of_catalog(catalog: Catalog) -> RulesReport:
    """The installed rule files of ``catalog``, checked (names of teams and queues are looked up when run)."""
    return check_rules([(key.split("/", 1)[0], rule_file) for key, rule_file in catalog.rule_files.items()], catalog)
