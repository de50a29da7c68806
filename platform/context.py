"""Who acts, from where, and at what time — passed down explicitly, never global."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Source = Literal["cli", "api", "ui", "rule", "import", "scheduler", "system"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """The actor, the channel the change came through, and "now" (tests fix it)."""

    actor: str
    source: Source
    now: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        assert self.now.tzinfo is not None, "Context.now must be time-zone aware"
