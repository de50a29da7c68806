"""``xrm user ...`` and ``xrm team ...``: people, their roles, teams and API tokens."""

from __future__ import annotations

from datetime import timedelta

import click
from rich.console import Console
from rich.table import Table

from xrm.context import utc_now
from xrm.db import make_engine
from xrm.metadata.installer import installed_catalog
from xrm.migrate import upgrade
from xrm.runtime.users import UserError, add_team, add_user, create_token, find_user, list_users, set_password, set_roles

console = Console(highlight=False)


def _engine(ctx: click.Context):  # noqa: ANN202
    engine = make_engine(ctx.obj)
    upgrade(engine)
    return engine


def _check_roles(engine, roles: tuple[str, ...]) -> None:  # noqa: ANN001
    known = installed_catalog(engine).roles
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise click.ClickException(f"no installed pack declares the role {', '.join(repr(r) for r in unknown)}; "
                                   f"roles: {', '.join(sorted(known)) or 'none (install a pack first)'}")


def _require_user(connection, username: str):  # noqa: ANN001, ANN202
    user = find_user(connection, username)
    if user is None:
        raise click.ClickException(f"there is no user '{username}' (see `xrm user list`)")
    return user


@click.group()
def user() -> None:
    """Add users, give them roles and API tokens."""


@user.command("add")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (asked for when not given).")
@click.option("--role", "roles", multiple=True, help="A role from an installed pack. Repeatable.")
@click.option("--admin", is_flag=True, help="May do everything, whatever the roles say.")
@click.option("--name", "display_name", help="The name shown to people (default: the user name).")
@click.option("--email")
@click.pass_context
def user_add(ctx: click.Context, username: str, password: str, roles: tuple[str, ...], admin: bool,
             display_name: str | None, email: str | None) -> None:
    """Add a user who signs in with USERNAME and a password."""
    engine = _engine(ctx)
    _check_roles(engine, roles)
    try:
        with engine.begin() as connection:
            user_id = add_user(connection, username, now=utc_now(), display_name=display_name, email=email,
                               password=password, roles=roles, is_admin=admin)
    except UserError as error:
        raise click.ClickException(str(error)) from error
    what = "administrator" if admin else (f"roles {', '.join(roles)}" if roles else "no roles yet")
    console.print(f"Added user {username} (id {user_id}, {what})", markup=False)


@user.command("roles")
@click.argument("username")
@click.argument("roles", nargs=-1)
@click.pass_context
def user_roles(ctx: click.Context, username: str, roles: tuple[str, ...]) -> None:
    """Replace USERNAME's roles with ROLES (none: take every role away)."""
    engine = _engine(ctx)
    _check_roles(engine, roles)
    with engine.begin() as connection:
        set_roles(connection, _require_user(connection, username).id, roles)
    console.print(f"{username} now has {', '.join(roles) or 'no roles'}", markup=False)


@user.command("password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.pass_context
def user_password(ctx: click.Context, username: str, password: str) -> None:
    """Set USERNAME's password."""
    with _engine(ctx).begin() as connection:
        set_password(connection, _require_user(connection, username).id, password)
    console.print(f"Password of {username} changed", markup=False)


@user.command("token")
@click.argument("username")
@click.option("--name", "token_name", default="api", show_default=True, help="What the token is for.")
@click.option("--days", type=click.IntRange(min=1), help="Expire after this many days (default: never).")
@click.pass_context
def user_token(ctx: click.Context, username: str, token_name: str, days: int | None) -> None:
    """Create an API token for USERNAME and print it (it is shown only this once)."""
    now = utc_now()
    with _engine(ctx).begin() as connection:
        token = create_token(connection, _require_user(connection, username).id, token_name, now=now,
                             expires_at=now + timedelta(days=days) if days else None)
    click.echo(token)


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """List users and their roles."""
    with _engine(ctx).connect() as connection:
        people = list_users(connection)
    table = Table("Id", "User", "Name", "Roles", "Admin", "Active")
    for person in people:
        table.add_row(str(person.id), person.username, person.display_name, ", ".join(person.roles),
                      "yes" if person.is_admin else "", "yes" if person.is_active else "no")
    console.print(table)


@click.group()
def team() -> None:
    """Teams of users (a role's 'team' scope reaches the records of team mates)."""


@team.command("add")
@click.argument("name")
@click.option("--label")
@click.option("--member", "members", multiple=True, help="A user name. Repeatable.")
@click.pass_context
def team_add(ctx: click.Context, name: str, label: str | None, members: tuple[str, ...]) -> None:
    """Add the team NAME with its members."""
    try:
        with _engine(ctx).begin() as connection:
            ids = [_require_user(connection, m).id for m in members]
            add_team(connection, name, label, ids)
    except UserError as error:
        raise click.ClickException(str(error)) from error
    console.print(f"Added team {name} with {len(members)} member{'s' if len(members) != 1 else ''}", markup=False)
