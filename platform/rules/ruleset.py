"""Checked rules, ready to run: triggers, compiled condition and actions, indexed by entity.

``xrm.rules.checker`` builds a ``RuleSet`` from the parsed rule files of every
installed pack; the engine (``xrm.rules.engine``) asks it which rules an event
triggers, in the order they run (priority, highest first; then file order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from xrm.rules.actions.base import RuleAction
from xrm.rules.expr import CheckedExpression


@dataclass(frozen=True)
class OnEvent:
    event: Literal["created", "updated", "deleted"]

    def describe(self, entity: str) -> str:
        return f"{entity} {self.event}"


@dataclass(frozen=True)
class OnChange:
    """A field changed, optionally from one of ``before`` and to one of ``after``."""

    field: str
    before: frozenset[Any] | None = None
    after: frozenset[Any] | None = None

    def describe(self, entity: str) -> str:
        text = f"{entity}.{self.field} changed"
        if self.before is not None:
            text += " from " + _values(self.before)
        if self.after is not None:
            text += " to " + _values(self.after)
        return text

    def matches(self, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
        old = before.get(self.field) if before is not None else None
        new = after.get(self.field)
        if old == new or (before is None and new is None):
            return False
        return (self.before is None or old in self.before) and (self.after is None or new in self.after)


@dataclass(frozen=True)
class OnTransition:
    workflow: str
    transition: str

    @property
    def qualified(self) -> str:
        return f"{self.workflow}.{self.transition}"

    def describe(self, entity: str) -> str:
        return f"{entity} transition {self.transition}"


@dataclass(frozen=True)
class AtTime:
    """``4h after created_at in business_hours 'support'`` / ``2d before close_date``."""

    seconds: int
    side: Literal["after", "before"]
    anchor: str
    calendar: str | None = None

    def describe(self, entity: str) -> str:
        text = f"{_duration(self.seconds)} {self.side} {self.anchor}"
        return text + (f" in business hours of '{self.calendar}'" if self.calendar else "")


@dataclass(frozen=True)
class OnSchedule:
    """``every weekday at 08:00 in 'Europe/Berlin'`` or ``every 15m``."""

    days: str | None
    clock: str | None
    zone: str
    interval: int | None

    def describe(self, entity: str) -> str:
        if self.interval is not None:
            return f"every {_duration(self.interval)}"
        return f"every {self.days} at {self.clock} ({self.zone})"


Trigger = OnEvent | OnChange | OnTransition | AtTime | OnSchedule


@dataclass(frozen=True)
class CompiledRule:
    """One checked rule.  ``key`` (``pack:name``) names it in traces and timers."""

    name: str
    pack: str
    file: str
    line: int
    priority: int
    order: int
    entity: str
    triggers: tuple[Trigger, ...]
    condition: CheckedExpression | None
    actions: tuple[RuleAction, ...]
    stop: bool

    @property
    def key(self) -> str:
        return f"{self.pack}:{self.name}"

    @property
    def writes(self) -> frozenset[str]:
        """Fields of the rule's own record its actions may change."""
        return frozenset(f for action in self.actions for f in action.writes)

    @property
    def time_triggers(self) -> tuple[AtTime, ...]:
        return tuple(t for t in self.triggers if isinstance(t, AtTime))

    @property
    def schedules(self) -> tuple[OnSchedule, ...]:
        return tuple(t for t in self.triggers if isinstance(t, OnSchedule))


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    message: str | None


@dataclass(frozen=True)
class RuleSet:
    """Every checked rule of the installed packs."""

    rules: tuple[CompiledRule, ...] = ()
    templates: Mapping[str, Template] = field(default_factory=dict)
    _by_entity: Mapping[str, tuple[CompiledRule, ...]] = field(init=False, repr=False, compare=False)
    _by_key: Mapping[str, CompiledRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[CompiledRule]] = {}
        for rule in sorted(self.rules, key=lambda r: (-r.priority, r.order)):
            grouped.setdefault(rule.entity, []).append(rule)
        object.__setattr__(self, "_by_entity", {e: tuple(rules) for e, rules in grouped.items()})
        object.__setattr__(self, "_by_key", {r.key: r for r in self.rules})

    def for_entity(self, entity: str) -> tuple[CompiledRule, ...]:
        """The entity's rules in the order they run."""
        return self._by_entity.get(entity, ())

    def rule(self, key: str) -> CompiledRule | None:
        return self._by_key.get(key)

    def timed(self, entity: str) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.for_entity(entity) if r.time_triggers)

    @property
    def scheduled(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.schedules)

    def __bool__(self) -> bool:
        return bool(self.rules)


EMPTY = RuleSet()


def _literal(value: Any) -> str:
    """A value as the rules language writes it: 'text', true, 12."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _values(values: frozenset[Any] | Sequence[Any]) -> str:
    shown = [_literal(v) for v in sorted(values, key=repr)]
    return shown[0] if len(shown) == 1 else "(" + ", ".join(shown) + ")"


def _duration(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
