"""Who acts, from where, and at what time — passed down explicitly, never global."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Source = Literal["cli", "api", "ui", "rule", "import", "scheduler", "system"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user with roles, or the platform itself (``user_id`` None).

    ``is_admin`` bypasses role permissions: administrators, and the platform
    acting for itself (pack installs, cascades of a delete, the scheduler).
    """

    name: str
    user_id: int | None = None
    roles: frozenset[str] = frozenset()
    is_admin: bool = False
    #: the IANA zone pages show this person's times in (their user record's ``time_zone``)
    time_zone: str = "UTC"

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name=name, is_admin=True)


@dataclass(frozen=True)
class Context:
    """The actor, the channel the change came through, and "now" (tests fix it).

    ``chain`` names the rules whose actions led to this change (empty for a
    person's own change), so cascades of rules are bounded and explained;
    ``explain`` asks the rules engine to trace every rule it evaluates, also
    those that did not fire.
    """

    actor: Actor
    source: Source
    now: datetime = field(default_factory=utc_now)
    chain: tuple[str, ...] = ()
    explain: bool = False

    def __post_init__(self) -> None:
        assert self.now.tzinfo is not None, "Context.now must be time-zone aware"
        assert isinstance(self.actor, Actor), "Context.actor is an Actor (Actor.system('name') for the platform)"
