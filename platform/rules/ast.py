"""The rules language as frozen dataclasses: what ``xrm.rules.parser`` builds from a ``.rules`` file.

Every node knows its place (``line``, ``column``) in its file, so the checker
can point at it.  Conditions and values stay expression *text* (``Source``),
checked and compiled by the expression language against the rule's entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class Place:
    line: int
    column: int


@dataclass(frozen=True)
class Source:
    """An expression's text as written in the rule file, and where it starts."""

    text: str
    place: Place


@dataclass(frozen=True)
class Name:
    """A name (field, entity, transition, or a dotted path) and where it is written."""

    text: str
    place: Place


# -- triggers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordEvent:
    """``lead created`` / ``updated`` / ``deleted``."""

    event: Literal["created", "updated", "deleted"]
    entity: Name | None
    place: Place


@dataclass(frozen=True)
class FieldChanged:
    """``status changed [from 'new'] [to ('working', 'qualified')]``; ``path`` may start with the entity."""

    path: Name
    before: tuple[Any, ...] | None
    after: tuple[Any, ...] | None
    place: Place


@dataclass(frozen=True)
class TransitionTaken:
    """``transition qualify`` (or ``lead transition qualify``)."""

    transition: Name
    entity: Name | None
    place: Place


@dataclass(frozen=True)
class RelativeTime:
    """``4h after created_at [in business_hours 'support']`` or ``2d before close_date``."""

    seconds: int
    side: Literal["after", "before"]
    anchor: Name
    calendar: str | None
    place: Place


@dataclass(frozen=True)
class Scheduled:
    """``every weekday at 08:00 in 'Europe/Berlin'`` (``days``/``clock``/``zone``) or ``every 15m`` (``interval``)."""

    days: str | None
    clock: str | None
    zone: str | None
    interval: int | None
    place: Place


Trigger = RecordEvent | FieldChanged | TransitionTaken | RelativeTime | Scheduled


# -- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    field: Name
    value: Source


@dataclass(frozen=True)
class SetFields:
    assignments: tuple[Assignment, ...]
    place: Place


@dataclass(frozen=True)
class Assign:
    """Give the record an owner: ``round_robin``/``least_loaded`` in a team or queue, or ``to`` someone."""

    strategy: Literal["round_robin", "least_loaded", "group", "user", "field"]
    group: Literal["team", "queue"] | None
    target: str | None
    skip_absent: bool
    cap: int | None
    open_when: Source | None
    fallback_queue: str | None
    place: Place


@dataclass(frozen=True)
class Recipient:
    """Who a notification goes to: ``team 'x'``, ``queue 'x'``, ``user 'x'``, ``role 'x'`` or a user field path."""

    kind: Literal["team", "queue", "user", "role", "field"]
    name: str
    place: Place


@dataclass(frozen=True)
class Notify:
    recipients: tuple[Recipient, ...]
    template: str | None
    subject: str | None
    message: str | None
    place: Place


@dataclass(frozen=True)
class CreateRecord:
    entity: Name
    assignments: tuple[Assignment, ...]
    place: Place


@dataclass(frozen=True)
class AddToCampaign:
    campaign: str
    status: str | None
    place: Place


@dataclass(frozen=True)
class TakeTransition:
    transition: Name
    place: Place


@dataclass(frozen=True)
class StartWorkflow:
    workflow: Name
    place: Place


@dataclass(frozen=True)
class MoveToQueue:
    queue: str
    place: Place


@dataclass(frozen=True)
class RaiseField:
    """``raise priority``: a picklist moves to its next option (``low`` → ``medium``)."""

    field: Name
    place: Place


@dataclass(frozen=True)
class ReturnToPool:
    queue: str | None
    protect_seconds: int | None
    place: Place


Action = (SetFields | Assign | Notify | CreateRecord | AddToCampaign | TakeTransition | StartWorkflow | MoveToQueue
          | RaiseField | ReturnToPool)


@dataclass(frozen=True)
class Rule:
    name: str
    priority: int
    entity: Name | None
    triggers: tuple[Trigger, ...]
    condition: Source | None
    actions: tuple[Action, ...]
    stop: bool
    file: str
    place: Place


@dataclass(frozen=True)
class NotificationTemplate:
    name: str
    subject: str
    message: str | None
    file: str
    place: Place


# -- rule tests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestEvent:
    kind: Literal["created", "updated", "deleted", "transition"]
    values: tuple[tuple[Name, Source], ...]
    transition: Name | None
    at: datetime | None


@dataclass(frozen=True)
class Expectation:
    """One ``expect`` line; ``kind`` says what it checks, the other attributes what it names."""

    kind: Literal["fired", "not_fired", "nothing", "value", "assign", "effect", "timer", "error"]
    place: Place
    rule: str | None = None
    field: Name | None = None
    value: Source | None = None
    group: str | None = None
    target: str | None = None
    effect: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RuleTest:
    name: str
    #: related records made first (``with partner {...}``); the tested record's lookups to them are filled in
    related: tuple[tuple[Name, tuple[tuple[Name, Source], ...]], ...]
    entity: Name
    given: tuple[tuple[Name, Source], ...]
    as_user: str | None
    event: TestEvent
    wait_until: datetime | None
    expectations: tuple[Expectation, ...]
    file: str
    place: Place


@dataclass(frozen=True)
class RuleFileSyntax:
    """Everything one ``.rules`` file declares."""

    path: str
    text: str
    rules: tuple[Rule, ...]
    templates: tuple[NotificationTemplate, ...]
    tests: tuple[RuleTest, ...]
