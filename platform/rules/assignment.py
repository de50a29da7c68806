"""Choosing an owner for a record: round robin or least loaded within a team or queue.

``pick_owner`` only decides; the caller writes ``owner_id`` / ``owner_queue_id``
on the record, in the same transaction.  Inactive members are always skipped,
absent ones on request, and so are members at their cap of open records (the
smaller of the rule's cap and their ``user_capacity`` row for the entity).

Fairness under concurrency: the group's cursor row (who got the last record) is
locked with ``SELECT ... FOR UPDATE`` before anything else is read, so on
PostgreSQL concurrent picks for one group take turns, and each sees the
records the previous one assigned (READ COMMITTED reads afresh per statement).
On SQLite the write lock every transaction takes serializes them anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Row, func, select, update

from xrm.db import dialect_insert
from xrm.rules.expr import CheckedExpression, check_expression
from xrm.runtime.record_model import RecordModel
from xrm.system_tables import assignment_cursors, org_tables, users


@dataclass(frozen=True)
class Pick:
    """What a rule's ``assign`` action asks for."""

    strategy: Literal["round_robin", "least_loaded"]
    group: Literal["team", "queue"]
    name: str                      # the team's or queue's `name` (not label)
    entity: str                    # entity of the record being assigned, e.g. "lead"
    skip_absent: bool = False      # skip users out of office at `now`
    cap: int | None = None         # most open records of `entity` a user may own; None = no cap from the rule
    open_condition: CheckedExpression | None = None   # which records count as open; None = entity default
    fallback_queue: str | None = None                 # queue `name` to use when nobody is eligible


@dataclass(frozen=True)
class Skipped:
    user_id: int
    name: str          # display_name
    reason: str        # "inactive", "absent until 2026-01-09 17:00 UTC", "at their cap (40 open)"


@dataclass(frozen=True)
class Assignment:
    user_id: int | None
    user_name: str | None
    queue_id: int | None
    queue_name: str | None           # label of the fallback queue when used
    skipped: tuple[Skipped, ...]
    reason: str | None = None        # why nobody was picked
    method: str | None = None        # how the user was picked, e.g. "round robin in team 'west_sales'"

    def summary(self) -> str:
        """One line for the rule trace: who got it and why, then who was passed over."""
        if self.user_id is not None:
            head = f"{self.user_name} ({self.method})" if self.method else str(self.user_name)
        elif self.queue_id is not None:
            head = f"queue '{self.queue_name}' ({self.reason})"
        else:
            head = f"nobody ({self.reason})"
        return "; ".join([head, *(f"{s.name} skipped: {s.reason}" for s in self.skipped)])


@dataclass(frozen=True)
class _Candidate:
    id: int
    name: str
    open: int = 0


def _when(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _unavailable(row: Row[Any] | Mapping[str, Any], now: datetime, skip_absent: bool) -> Skipped | None:
    if not row["is_active"]:
        return Skipped(row["id"], row["display_name"], "inactive")
    start, end = row["out_of_office_from"], row["out_of_office_to"]
    if skip_absent and (start is not None or end is not None) and (start is None or start <= now) \
            and (end is None or now < end):
        until = f"until {_when(end)}" if end is not None else "with no return date"
        return Skipped(row["id"], row["display_name"], f"absent {until}")
    return None


_USER_COLUMNS = (users.c.id, users.c.display_name, users.c.is_active, users.c.out_of_office_from,
                 users.c.out_of_office_to)


def unavailable(connection: Connection, user_id: int, now: datetime, *, skip_absent: bool) -> Skipped | None:
    """Why ``user_id`` cannot take a record directly: inactive (always), absent (when ``skip_absent``), unknown."""
    row = connection.execute(select(*_USER_COLUMNS).where(users.c.id == user_id)).mappings().first()
    if row is None:
        return Skipped(user_id, f"user {user_id}", "no such user")
    return _unavailable(row, now, skip_absent)


def default_open_condition(model: RecordModel, entity: str) -> CheckedExpression | None:
    """Records not in a final state of any of the entity's workflows; None (every record) without workflows.

    A record whose state field is empty is in no state, so not a final one: it counts as open.
    """
    def build() -> CheckedExpression | None:
        parts = []
        for workflow in sorted(model.catalog.workflows.values(), key=lambda w: w.name):
            finals = [s.name for s in workflow.states if s.final]
            if workflow.entity == entity and finals:
                listed = ", ".join(f"'{name}'" for name in finals)
                parts.append(f"({workflow.field} is empty or {workflow.field} not in ({listed},))")
        if not parts:
            return None
        return check_expression(" and ".join(parts), model.entity(entity), model.catalog.entities, expected="boolean")

    return model.memo(("assignment.open_condition", entity), build)


def _group(connection: Connection, pick: Pick) -> int | None:
    table = org_tables[pick.group]
    return connection.execute(select(table.c.id).where(table.c.name == pick.name)).scalar()


def _members(connection: Connection, pick: Pick, group_id: int) -> Sequence[Mapping[str, Any]]:
    members = org_tables[f"{pick.group}_member"]
    statement = (select(*_USER_COLUMNS).join(members, members.c.user == users.c.id)
                 .where(members.c[pick.group] == group_id).order_by(users.c.id))
    return connection.execute(statement).mappings().all()


def _caps(connection: Connection, pick: Pick, ids: list[int]) -> dict[int, int]:
    """Each user's effective cap (only users who have one): the rule's, their own, and a queue's per member."""
    capacity = org_tables["user_capacity"]
    own = dict(connection.execute(select(capacity.c.user, capacity.c.max_open).where(
        capacity.c.user.in_(ids), capacity.c.entity == pick.entity)).all())
    per_member = None
    if pick.group == "queue":
        queues = org_tables["queue"]
        per_member = connection.execute(select(queues.c.max_open_per_member).where(queues.c.name == pick.name)).scalar()
    caps = {}
    for user_id in ids:
        limits = [c for c in (pick.cap, own.get(user_id), per_member) if c is not None]
        if limits:
            caps[user_id] = min(limits)
    return caps


def _open_counts(connection: Connection, model: RecordModel, pick: Pick, ids: list[int], now: datetime) -> dict[int, int]:
    """Open records of the entity per owner, for all of ``ids`` in one grouped query."""
    table = model.table(pick.entity)
    statement = (select(table.c.owner_id, func.count()).where(table.c.owner_id.in_(ids))
                 .group_by(table.c.owner_id))
    condition = pick.open_condition if pick.open_condition is not None else default_open_condition(model, pick.entity)
    if condition is not None:
        statement = condition.apply_filter(statement, model.tables, now=now)
    return dict(connection.execute(statement).all())


def _cursor(connection: Connection, key: str, now: datetime) -> int | None:
    """Lock the cursor row (created when missing) and return the last user it gave a record to."""
    insert_ = dialect_insert(connection)
    connection.execute(insert_(assignment_cursors).values(key=key, last_user_id=None, assigned=0, updated_at=now)
                       .on_conflict_do_nothing(index_elements=[assignment_cursors.c.key]))
    return connection.execute(select(assignment_cursors.c.last_user_id).where(assignment_cursors.c.key == key)
                              .with_for_update()).scalar()


def _after(candidates: Sequence[_Candidate], last: int | None) -> _Candidate:
    """The first candidate (ordered by id) after ``last``, wrapping around."""
    return next((c for c in candidates if last is None or c.id > last), candidates[0])


def _round_robin(candidates: Sequence[_Candidate], last: int | None) -> _Candidate:
    return _after(candidates, last)


def _least_loaded(candidates: Sequence[_Candidate], last: int | None) -> _Candidate:
    fewest = min(c.open for c in candidates)
    return _after([c for c in candidates if c.open == fewest], last)


#: strategy → (chooser over eligible candidates and the cursor, whether it needs open counts, cursor key prefix)
_STRATEGIES: dict[str, tuple[Callable[[Sequence[_Candidate], int | None], _Candidate], bool, str]] = {
    "round_robin": (_round_robin, False, ""),
    "least_loaded": (_least_loaded, True, "least_loaded:"),
}


def pick_owner(connection: Connection, model: RecordModel, pick: Pick, now: datetime) -> Assignment:
    """Choose the owner for a record of ``pick.entity`` and advance the group's cursor."""
    choose, needs_counts, prefix = _STRATEGIES[pick.strategy]
    where = f"{pick.group} '{pick.name}'"
    group_id = _group(connection, pick)
    if group_id is None:
        return _fallback(connection, pick, (), f"there is no {pick.group} named '{pick.name}'")
    key = f"{prefix}{pick.group}:{pick.name}:{pick.entity}"
    last = _cursor(connection, key, now)  # first: concurrent picks for this group wait here
    members = _members(connection, pick, group_id)
    if not members:
        return _fallback(connection, pick, (), f"{where} has no members")
    skipped: list[Skipped] = []
    available = []
    for row in members:
        reason = _unavailable(row, now, pick.skip_absent)
        if reason is None:
            available.append(row)
        else:
            skipped.append(reason)
    ids = [row["id"] for row in available]
    caps = _caps(connection, pick, ids) if ids else {}
    counts = _open_counts(connection, model, pick, ids, now) if ids and (caps or needs_counts) else {}
    candidates = []
    for row in available:
        count = counts.get(row["id"], 0)
        if row["id"] in caps and count >= caps[row["id"]]:
            skipped.append(Skipped(row["id"], row["display_name"], f"at their cap ({count} open)"))
        else:
            candidates.append(_Candidate(row["id"], row["display_name"], count))
    if not candidates:
        return _fallback(connection, pick, tuple(skipped), f"nobody in {where} is eligible")
    chosen = choose(candidates, last)
    connection.execute(update(assignment_cursors).where(assignment_cursors.c.key == key).values(
        last_user_id=chosen.id, assigned=assignment_cursors.c.assigned + 1, updated_at=now))
    method = f"{pick.strategy.replace('_', ' ')} in {where}"
    if needs_counts:
        method += f", {chosen.open} open"
    return Assignment(chosen.id, chosen.name, None, None, tuple(skipped), method=method)


def _fallback(connection: Connection, pick: Pick, skipped: tuple[Skipped, ...], reason: str) -> Assignment:
    if pick.fallback_queue is None:
        return Assignment(None, None, None, None, skipped, reason)
    queues = org_tables["queue"]
    row = connection.execute(select(queues.c.id, queues.c.label, queues.c.active)
                             .where(queues.c.name == pick.fallback_queue)).first()
    if row is None:
        return Assignment(None, None, None, None, skipped, f"{reason}, and there is no queue named '{pick.fallback_queue}'")
    if row.active is False:
        return Assignment(None, None, None, None, skipped, f"{reason}, and the queue '{row.label}' is inactive")
    return Assignment(None, None, row.id, row.label, skipped, reason)
