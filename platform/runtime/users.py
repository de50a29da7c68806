"""Users, their roles and API tokens: adding them, and telling who a request comes from.

Passwords are kept as argon2 hashes.  API tokens are random strings shown
once; only their SHA-256 is stored, so a leaked database does not leak tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from xrm.context import Actor
from xrm.errors import XrmError
from xrm.metadata.identifiers import is_well_formed
from xrm.system_tables import api_tokens, org_tables, team_members, user_roles, users

teams = org_tables["team"]

_hasher = PasswordHasher()
TOKEN_PREFIX = "xrm_"
#: Verifying against this keeps a login for an unknown user as slow as one with a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")


class UserError(XrmError):
    """A user cannot be added or changed as asked."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    email: str | None
    is_active: bool
    is_admin: bool
    roles: tuple[str, ...]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(connection: Connection, username: str, *, now: datetime, display_name: str | None = None,
             email: str | None = None, password: str | None = None, roles: Iterable[str] = (),
             is_admin: bool = False) -> int:
    """Create a user and give it ``roles``; returns its id."""
    username = username.strip()
    if not username or len(username) > 150 or any(c.isspace() for c in username):
        raise UserError(f"'{username}' is not a user name: use 1 to 150 characters without spaces")
    clash = connection.execute(
        select(users.c.username).where(func.lower(users.c.username) == username.lower())).scalar()
    if clash is not None:  # "Alice" beside "alice" would be two accounts people take for one
        raise UserError(f"a user named '{clash}' already exists")
    user_id = connection.execute(insert(users).values(
        username=username, display_name=display_name or username, email=email,
        password_hash=hash_password(password) if password else None,
        is_active=True, is_admin=is_admin, created_at=now, updated_at=now, version=1, time_zone="UTC",
    ).returning(users.c.id)).scalar_one()
    set_roles(connection, user_id, roles)
    return user_id


def set_roles(connection: Connection, user_id: int, roles: Iterable[str]) -> None:
    connection.execute(delete(user_roles).where(user_roles.c.user_id == user_id))
    names = sorted(set(roles))
    for role in names:
        if not is_well_formed(role):
            raise UserError(f"'{role}' is not a role name")
    if names:
        connection.execute(insert(user_roles), [{"user_id": user_id, "role": r} for r in names])


def set_password(connection: Connection, user_id: int, password: str) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(password_hash=hash_password(password)))


def find_user(connection: Connection, username: str) -> User | None:
    row = connection.execute(select(users).where(users.c.username == username)).mappings().first()
    return None if row is None else _user(connection, row)


def list_users(connection: Connection) -> list[User]:
    rows = connection.execute(select(users).order_by(users.c.username)).mappings().all()
    return [_user(connection, row) for row in rows]


def _user(connection: Connection, row) -> User:  # noqa: ANN001
    roles = connection.execute(select(user_roles.c.role).where(user_roles.c.user_id == row["id"])
                               .order_by(user_roles.c.role)).scalars().all()
    return User(row["id"], row["username"], row["display_name"], row["email"], row["is_active"], row["is_admin"],
                tuple(roles))


def actor_for_user(connection: Connection, user_id: int) -> Actor | None:
    """The acting identity of an active user (roles read now, so a change applies at the next request)."""
    row = connection.execute(
        select(users.c.id, users.c.username, users.c.is_admin, users.c.time_zone)
        .where(users.c.id == user_id, users.c.is_active.is_(True))
    ).first()
    if row is None:
        return None
    roles = connection.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id)).scalars().all()
    return Actor(name=row.username, user_id=row.id, roles=frozenset(roles), is_admin=bool(row.is_admin),
                 time_zone=row.time_zone or "UTC")


def check_password(connection: Connection, username: str, password: str) -> Actor | None:
    """The user's identity when ``password`` is theirs and the account is active, else None."""
    row = connection.execute(
        select(users.c.id, users.c.password_hash).where(users.c.username == username, users.c.is_active.is_(True))
    ).first()
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.password_hash:
        return None
    if _hasher.check_needs_rehash(stored):
        set_password(connection, row.id, password)
    return actor_for_user(connection, row.id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(connection: Connection, user_id: int, name: str, *, now: datetime,
                 expires_at: datetime | None = None) -> str:
    """A new API token for the user; the returned text is the only copy."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    connection.execute(insert(api_tokens).values(
        user_id=user_id, name=name, token_hash=_token_hash(token), created_at=now, expires_at=expires_at,
    ))
    return token


def actor_for_token(connection: Connection, token: str, now: datetime) -> Actor | None:
    """The identity behind a Bearer token that is neither revoked nor expired."""
    user_id = connection.execute(
        select(api_tokens.c.user_id).where(
            api_tokens.c.token_hash == _token_hash(token),
            api_tokens.c.revoked_at.is_(None),
            or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
        )
    ).scalar()
    return None if user_id is None else actor_for_user(connection, user_id)


def add_team(connection: Connection, name: str, label: str | None = None, members: Iterable[int] = (), *,
             now: datetime | None = None) -> int:
    """A team and its members, written directly (the command line's shortcut; the API goes through the service)."""
    if not is_well_formed(name):
        raise UserError(f"'{name}' is not a team name: use lower-case letters, digits and underscores")
    if connection.execute(select(teams.c.id).where(teams.c.name == name)).first():
        raise UserError(f"a team named '{name}' already exists")
    now = now or datetime.now(UTC)
    stamp = {"version": 1, "created_at": now, "updated_at": now}
    team_id = connection.execute(
        insert(teams).values(name=name, label=label or name, **stamp).returning(teams.c.id)).scalar_one()
    for user_id in members:
        connection.execute(insert(team_members).values(team=team_id, user=user_id, **stamp))
    return team_id


def team_mates(user_id: int):  # noqa: ANN201
    """A SELECT of the ids of users sharing a team with ``user_id`` (the user included when in a team)."""
    mine = team_members.alias("mine")
    theirs = team_members.alias("theirs")
    return select(theirs.c.user).join(mine, and_(mine.c.team == theirs.c.team, mine.c.user == user_id))


def my_queues(user_id: int):  # noqa: ANN201
    """A SELECT of the ids of the queues ``user_id`` is a member of."""
    members = org_tables["queue_member"]
    return select(members.c.queue).where(members.c.user == user_id)
