"""What write hooks see and promise: the change about to be, or just, written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from xrm.context import Context


@dataclass(frozen=True)
class RecordChange:
    """One change about to be (``before_write``) or just (``after_write``) written."""

    entity: str
    action: Literal["create", "update", "delete"]
    record_id: int | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    changed: frozenset[str]
    #: ``workflow.transition`` when the change is a workflow transition (the rules' transition trigger).
    transition: str | None = None


class WriteHook(Protocol):
    """Something that takes part in every write (the rules engine, timers).  Raise a RecordError to refuse."""

    def before_write(self, connection: Connection, context: Context, change: RecordChange) -> None: ...

    def after_write(self, connection: Connection, context: Context, change: RecordChange) -> None: ...
