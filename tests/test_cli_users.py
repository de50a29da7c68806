"""``xrm user`` and ``xrm team``: adding people, roles, passwords and API tokens from the command line."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import PACKS_DIR
from xrm.bootstrap import bundled_pack_dirs, ensure_first_admin, prepare_database
from xrm.cli import main
from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine
from xrm.runtime.users import actor_for_token, check_password, find_user
from xrm.system_tables import api_tokens, org_tables, team_members

teams = org_tables["team"]


def run(url: str, *args: str, input: str | None = None):  # noqa: ANN201, A002
    return CliRunner().invoke(main, ["--database-url", url, *args], input=input, catch_exceptions=False)


def installed(url: str):  # noqa: ANN201
    engine = make_engine(url)
    prepare_database(engine, bundled_pack_dirs(PACKS_DIR), Context(Actor.system("tests"), "cli"))
    return engine


def test_user_add_with_roles_and_sign_in(sqlite_url: str) -> None:
    engine = installed(sqlite_url)
    result = run(sqlite_url, "user", "add", "alice", "--password", "s3cret!", "--role", "sales_rep", "--email",
                 "alice@example.com")
    assert result.exit_code == 0, result.output
    assert "Added user alice" in result.output
    with engine.begin() as connection:
        actor = check_password(connection, "alice", "s3cret!")
        assert actor is not None and actor.roles == frozenset({"sales_rep"})
        assert check_password(connection, "alice", "wrong") is None
        assert find_user(connection, "alice").email == "alice@example.com"


def test_user_add_asks_for_the_password_twice(sqlite_url: str) -> None:
    engine = installed(sqlite_url)
    result = run(sqlite_url, "user", "add", "bob", input="pw-1\npw-1\n")
    assert result.exit_code == 0, result.output
    with engine.begin() as connection:
        assert check_password(connection, "bob", "pw-1") is not None


def test_user_add_refuses_unknown_role_and_names_the_known_ones(sqlite_url: str) -> None:
    installed(sqlite_url)
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "user", "add", "carol", "--password", "x",
                                       "--role", "sales_repp"])
    assert result.exit_code == 1
    assert "no installed pack declares the role 'sales_repp'" in result.output
    assert "sales_rep" in result.output


def test_user_add_refuses_duplicates(sqlite_url: str) -> None:
    installed(sqlite_url)
    run(sqlite_url, "user", "add", "dave", "--password", "x")
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "user", "add", "dave", "--password", "y"])
    assert result.exit_code == 1
    assert "a user named 'dave' already exists" in result.output


def test_token_is_printed_once_and_stored_hashed(sqlite_url: str) -> None:
    engine = installed(sqlite_url)
    run(sqlite_url, "user", "add", "erin", "--password", "x", "--admin")
    result = run(sqlite_url, "user", "token", "erin", "--name", "ci", "--days", "30")
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("xrm_")
    with engine.connect() as connection:
        stored = connection.execute(select(api_tokens.c.token_hash, api_tokens.c.expires_at)).one()
        assert token not in stored.token_hash and stored.expires_at is not None
        actor = actor_for_token(connection, token, utc_now())
        assert actor is not None and actor.name == "erin" and actor.is_admin


def test_roles_password_list_and_team(sqlite_url: str) -> None:
    engine = installed(sqlite_url)
    run(sqlite_url, "user", "add", "fay", "--password", "old")
    assert run(sqlite_url, "user", "roles", "fay", "sales_rep", "marketing_user").exit_code == 0
    assert run(sqlite_url, "user", "password", "fay", "--password", "new").exit_code == 0
    listing = run(sqlite_url, "user", "list")
    assert "fay" in listing.output and "marketing_user" in listing.output
    assert run(sqlite_url, "team", "add", "west", "--member", "fay").exit_code == 0
    with engine.begin() as connection:
        assert check_password(connection, "fay", "new").roles == frozenset({"sales_rep", "marketing_user"})
        west = connection.execute(select(teams.c.id).where(teams.c.name == "west")).scalar_one()
        assert connection.execute(select(team_members.c.user).where(team_members.c.team == west)).scalar_one() \
            == find_user(connection, "fay").id


def test_unknown_user_is_a_clear_error(sqlite_url: str) -> None:
    installed(sqlite_url)
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "user", "token", "ghost"])
    assert result.exit_code == 1
    assert "there is no user 'ghost'" in result.output


def test_first_admin_only_on_an_empty_user_table(sqlite_url: str, monkeypatch) -> None:  # noqa: ANN001
    engine = installed(sqlite_url)
    monkeypatch.setenv("XRM_ADMIN_PASSWORD", "first-password")
    first = ensure_first_admin(engine)
    assert first is not None and first.password == "first-password"
    with engine.begin() as connection:
        assert check_password(connection, "admin", "first-password").is_admin
    assert ensure_first_admin(engine) is None
