"""Users, passwords, API tokens and teams: adding users, signing in, and telling who a request comes from.

Runs on SQLite and PostgreSQL, with the cast of users the ``installed``
fixture adds (all with the password ``conftest.PASSWORD``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.runtime.conftest import PASSWORD, Installed
from xrm.runtime.users import (
    TOKEN_PREFIX,
    UserError,
    actor_for_token,
    actor_for_user,
    add_team,
    add_user,
    check_password,
    create_token,
    find_user,
    list_users,
    set_password,
    set_roles,
    team_mates,
)
from xrm.system_tables import api_tokens, users

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- adding users ------------------------------------------------------------------------------


def test_add_user_stores_the_user_and_its_roles(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        user_id = add_user(connection, "  alice ", now=NOW, display_name="Alice A.", email="alice@example.com",
                           password="s3cret!", roles=["sales_rep", "marketing_user", "sales_rep"])
    with installed.engine.connect() as connection:
        alice = find_user(connection, "alice")
    assert alice is not None
    assert (alice.id, alice.display_name, alice.email) == (user_id, "Alice A.", "alice@example.com")
    assert (alice.is_active, alice.is_admin) == (True, False)
    assert alice.roles == ("marketing_user", "sales_rep")


def test_display_name_defaults_to_the_user_name(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        add_user(connection, "bob", now=NOW)
        bob = find_user(connection, "bob")
    assert bob is not None and bob.display_name == "bob" and bob.roles == ()


def test_add_user_refuses_a_duplicate_name(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        with pytest.raises(UserError, match="already exists"):
            add_user(connection, "rep1", now=NOW)
        with pytest.raises(UserError, match="already exists"):
            add_user(connection, " rep1 ", now=NOW)
    with installed.engine.connect() as connection:
        assert len([u for u in list_users(connection) if u.username == "rep1"]) == 1


def test_add_user_refuses_bad_names(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        before = len(list_users(connection))
        for name in ("", "   ", "two words", "tab\there", "x" * 151):
            with pytest.raises(UserError, match="is not a user name"):
                add_user(connection, name, now=NOW)
        assert len(list_users(connection)) == before


def test_the_longest_user_name_is_accepted(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        add_user(connection, "x" * 150, now=NOW)
        assert find_user(connection, "x" * 150) is not None


def test_bad_role_names_are_refused(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        user_id = add_user(connection, "carol", now=NOW)
        with pytest.raises(UserError, match="not a role name"):
            set_roles(connection, user_id, ["Sales Rep"])


def test_list_users_is_sorted_by_name(installed: Installed) -> None:
    with installed.engine.connect() as connection:
        names = [u.username for u in list_users(connection)]
    assert names == sorted(names)
    assert {"admin", "rep1", "nobody"} <= set(names)


# -- passwords ---------------------------------------------------------------------------------


def test_check_password_accepts_the_right_password(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        actor = check_password(connection, "rep1", PASSWORD)
    assert actor is not None
    assert (actor.name, actor.user_id, actor.roles, actor.is_admin) == \
        ("rep1", installed.seed.user_ids["rep1"], frozenset({"sales_rep"}), False)


def test_check_password_refuses_wrong_passwords_and_unknown_users(installed: Installed) -> None:
    attempts = [("rep1", "wrong"), ("rep1", ""), ("rep1", PASSWORD.upper()), ("rep1", PASSWORD + " "),
                ("nosuchuser", PASSWORD), ("REP1", PASSWORD), ("rep2", "not a password")]
    with installed.engine.begin() as connection:
        for username, password in attempts:
            assert check_password(connection, username, password) is None, (username, password)


def test_an_inactive_user_cannot_sign_in(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        connection.execute(update(users).where(users.c.username == "rep2").values(is_active=False))
    with installed.engine.begin() as connection:
        assert check_password(connection, "rep2", PASSWORD) is None
        assert actor_for_user(connection, installed.seed.user_ids["rep2"]) is None


def test_a_user_without_a_password_cannot_sign_in(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        add_user(connection, "robot", now=NOW)
        assert check_password(connection, "robot", "") is None
        assert check_password(connection, "robot", "not a password") is None  # the dummy hash's text


def test_passwords_are_stored_as_argon2_hashes(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        add_user(connection, "dave", now=NOW, password="hunter2")
        stored = connection.execute(select(users.c.password_hash).where(users.c.username == "dave")).scalar_one()
        cast = connection.execute(select(users.c.password_hash).where(users.c.username == "rep1")).scalar_one()
    assert stored.startswith("$argon2") and cast.startswith("$argon2")
    assert "hunter2" not in stored
    with installed.engine.begin() as connection:
        add_user(connection, "erin", now=NOW, password="hunter2")
        other = connection.execute(select(users.c.password_hash).where(users.c.username == "erin")).scalar_one()
    assert other != stored  # salted


def test_set_password_replaces_the_old_one(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        set_password(connection, installed.seed.user_ids["rep3"], "new password")
    with installed.engine.begin() as connection:
        assert check_password(connection, "rep3", PASSWORD) is None
        actor = check_password(connection, "rep3", "new password")
    assert actor is not None and actor.name == "rep3"


def test_a_hash_in_an_unknown_format_is_refused(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        connection.execute(update(users).where(users.c.username == "rep3").values(password_hash="plain-text"))
    with installed.engine.begin() as connection:
        assert check_password(connection, "rep3", "plain-text") is None


# -- actors ------------------------------------------------------------------------------------


def test_actor_for_user_reads_roles_and_admin_flag(installed: Installed) -> None:
    ids = installed.seed.user_ids
    with installed.engine.connect() as connection:
        admin = actor_for_user(connection, ids["admin"])
        manager = actor_for_user(connection, ids["manager"])
        nobody = actor_for_user(connection, ids["nobody"])
        missing = actor_for_user(connection, max(ids.values()) + 100)
    assert admin is not None and admin.is_admin and admin.name == "admin"
    assert manager is not None and manager.roles == frozenset({"sales_manager"}) and not manager.is_admin
    assert nobody is not None and nobody.roles == frozenset()
    assert missing is None


def test_a_role_change_applies_to_the_next_actor(installed: Installed) -> None:
    user_id = installed.seed.user_ids["agent"]
    with installed.engine.begin() as connection:
        set_roles(connection, user_id, ["support_agent", "sales_rep"])
    with installed.engine.connect() as connection:
        actor = actor_for_user(connection, user_id)
    assert actor is not None and actor.roles == frozenset({"support_agent", "sales_rep"})


# -- API tokens --------------------------------------------------------------------------------


def test_a_token_identifies_its_user(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        token = create_token(connection, installed.seed.user_ids["rep1"], "script", now=NOW)
        actor = actor_for_token(connection, token, NOW)
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert actor is not None and actor.name == "rep1" and actor.roles == frozenset({"sales_rep"})


def test_only_the_tokens_hash_is_stored(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        token = create_token(connection, installed.seed.user_ids["rep1"], "script", now=NOW)
        rows = connection.execute(select(api_tokens)).mappings().all()
    stored = [r for r in rows if r["name"] == "script"]
    assert len(stored) == 1
    assert stored[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for row in rows for value in row.values())
    assert not any(token[len(TOKEN_PREFIX):] in str(value) for row in rows for value in row.values())


def test_tokens_are_unique(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        tokens = {create_token(connection, installed.seed.user_ids["rep1"], "t", now=NOW) for _ in range(5)}
    assert len(tokens) == 5


def test_unknown_or_altered_tokens_are_refused(installed: Installed) -> None:
    token = installed.seed.tokens["rep1"]
    with installed.engine.connect() as connection:
        assert actor_for_token(connection, token, NOW) is not None
        for wrong in ("", "xrm_", token[:-1], token + "x", token.upper(), hashlib.sha256(token.encode()).hexdigest()):
            assert actor_for_token(connection, wrong, NOW) is None, wrong


def test_an_expired_token_is_refused(installed: Installed) -> None:
    expires = NOW + timedelta(hours=1)
    with installed.engine.begin() as connection:
        token = create_token(connection, installed.seed.user_ids["rep2"], "short", now=NOW, expires_at=expires)
    with installed.engine.connect() as connection:
        assert actor_for_token(connection, token, NOW) is not None
        assert actor_for_token(connection, token, expires - timedelta(seconds=1)) is not None
        assert actor_for_token(connection, token, expires) is None
        assert actor_for_token(connection, token, expires + timedelta(days=1)) is None


def test_a_revoked_token_is_refused(installed: Installed) -> None:
    token = installed.seed.tokens["rep2"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    with installed.engine.begin() as connection:
        connection.execute(update(api_tokens).where(api_tokens.c.token_hash == digest).values(revoked_at=NOW))
    with installed.engine.connect() as connection:
        assert actor_for_token(connection, token, NOW) is None
        assert actor_for_token(connection, installed.seed.tokens["rep1"], NOW) is not None


def test_a_token_of_an_inactive_user_is_refused(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        connection.execute(update(users).where(users.c.username == "rep3").values(is_active=False))
    with installed.engine.connect() as connection:
        assert actor_for_token(connection, installed.seed.tokens["rep3"], NOW) is None


# -- teams -------------------------------------------------------------------------------------


def test_team_mates_include_the_user_and_the_members_of_every_team(installed: Installed) -> None:
    ids = installed.seed.user_ids
    with installed.engine.begin() as connection:
        add_team(connection, "east", "East", members=[ids["rep3"], ids["rep2"]])
        mates = {name: set(connection.execute(team_mates(ids[name])).scalars()) for name in ("rep1", "rep2", "rep3", "agent")}
    assert mates["rep1"] == {ids["rep1"], ids["rep3"]}
    assert mates["rep2"] == {ids["rep2"], ids["rep3"]}
    assert mates["rep3"] == {ids["rep1"], ids["rep2"], ids["rep3"]}
    assert mates["agent"] == set()


def test_add_team_refuses_bad_names(installed: Installed) -> None:
    with installed.engine.begin() as connection:
        for name in ("East", "two words", "", "1st", "drop;table"):
            with pytest.raises(UserError, match="not a team name"):
                add_team(connection, name)
        assert add_team(connection, "east_2", members=[installed.seed.user_ids["rep2"]]) > 0
