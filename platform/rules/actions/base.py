"""The interfaces of rule actions: how one is checked (``ActionCheck``), run (``ActionRun``) and reported (``Outcome``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from sqlalchemy import Connection

from xrm.context import Context
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import Entity, Field
from xrm.rules import ast
from xrm.rules.expr import CheckedExpression

if TYPE_CHECKING:
    from xrm.rules.ruleset import RuleSet
    from xrm.runtime.records import RecordService


@dataclass(frozen=True)
class Outcome:
    """What an action did, for the decision trace: ``summary`` reads as a sentence ("assigned to Alice ...")."""

    action: str
    summary: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    done: bool = True


@dataclass(frozen=True)
class ActionRun:
    """Everything an action needs while it runs, for one rule on one record."""

    service: RecordService
    connection: Connection
    #: the rule's own context: its actor, source "rule", the chain of rules that led here
    context: Context
    rule_name: str
    entity: Entity
    ruleset: RuleSet
    record_id: int | None = None
    #: the record before the change being processed (what ``previous()`` reads; None on create)
    previous: Mapping[str, Any] | None = None

    def expanded(self, record: Mapping[str, Any], lookups: Iterable[str]) -> dict[str, Any]:
        """``record`` with the lookups an expression reads replaced by the related records."""
        return self.service.expand_lookups(self.connection, self.entity, dict(record), lookups)

    def evaluate(self, expression: CheckedExpression, record: Mapping[str, Any]) -> Any:
        return expression(self.expanded(record, expression.lookups),
                          {"now": self.context.now, "previous": self.previous})


class RuleAction(ABC):
    """One action of a rule.  ``phase`` "record" actions change the record about to be written (no id yet
    on create); "effect" actions act once it is written (notify, create related records, transitions)."""

    kind: ClassVar[str]
    phase: ClassVar[Literal["record", "effect"]]

    @property
    def writes(self) -> frozenset[str]:
        """Fields of the rule's record this action may change (static loop detection, cascades)."""
        return frozenset()

    @property
    def creates(self) -> str | None:
        """The entity this action creates records of, if any (static loop detection)."""
        return None

    @abstractmethod
    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        """Do it; a record action changes ``record`` in place."""

    @abstractmethod
    def plan(self) -> Mapping[str, Any]:
        """What the action is set to do, without doing it (rule tests compare expectations with this)."""


class ActionCheck(Protocol):
    """What checking an action's syntax may use (``xrm.rules.checker`` provides it)."""

    entity: Entity
    catalog: Catalog

    def report(self, place: ast.Place, message: str, **details: Any) -> None: ...

    def expression(self, source: ast.Source, *, entity: Entity | None = None,
                   expected: str | None = None) -> CheckedExpression | None: ...

    def known(self, kind: Literal["team", "queue", "calendar", "user", "role", "template"], name: str,
              place: ast.Place) -> bool: ...

    def field(self, name: ast.Name, *, entity: Entity | None = None, settable: bool = False) -> Field | None: ...


Compiler = Callable[[Any, ActionCheck], RuleAction | None]
#: syntax node class → the function checking it and building the action
COMPILERS: dict[type, Compiler] = {}


def compiles(node_type: type) -> Callable[[Compiler], Compiler]:
    def register(function: Compiler) -> Compiler:
        COMPILERS[node_type] = function
        return function

    return register
