"""The ``xrm`` command line: serve, migrate, and pack validate/install/list."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError

from xrm.cli_data import export_csv, import_csv
from xrm.cli_packs import pack_plan, pack_upgrade
from xrm.cli_rules import rules
from xrm.cli_scheduler import scheduler
from xrm.cli_users import team, user
from xrm.context import Actor, Context
from xrm.db import database_exists, display_url, make_engine
from xrm.db import database_url as configured_database_url
from xrm.errors import XrmError
from xrm.metadata.installer import install_pack, installed_catalog
from xrm.metadata.org import platform_catalog
from xrm.metadata.problems import PackInvalid, PackProblem
from xrm.metadata.validation import validate_pack
from xrm.migrate import upgrade

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

REPO_PACKS = Path(__file__).resolve().parent.parent / "packs"


def _context() -> Context:
    import getpass

    return Context(actor=Actor.system(getpass.getuser()), source="cli")


def _print_problems(problems: tuple[PackProblem, ...] | list[PackProblem]) -> None:
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        # pack text is escaped: a key like "[/b]" must be shown, not read as markup
        errors.print(f"[{style}]{problem.severity}[/{style}] [bold]{escape(problem.location)}[/bold]: "
                     f"{escape(problem.message)}", markup=True, soft_wrap=True)
        if problem.expected and problem.expected not in problem.message:
            errors.print(f"    expected: {problem.expected}", markup=False, soft_wrap=True)
        if problem.found is not None and problem.found not in problem.message:
            errors.print(f"    found:    {problem.found}", markup=False, soft_wrap=True)
        if problem.hint:
            errors.print(f"    hint:     {problem.hint}", markup=False, soft_wrap=True)
        if problem.excerpt:
            for line in problem.excerpt.splitlines():
                errors.print(f"        {line}", markup=False, soft_wrap=True)


def _count(items, singular: str, plural: str | None = None) -> str:  # noqa: ANN001
    """``3 views``, ``1 view``."""
    return f"{len(items)} {singular if len(items) == 1 else plural or singular + 's'}"


def _problem_json(problem: PackProblem) -> dict:
    return {k: v for k, v in problem.__dict__.items() if v is not None}


class XrmGroup(click.Group):
    """Turns the platform's own errors and unreachable databases into one-line messages."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except XrmError as exc:
            raise click.ClickException(str(exc)) from exc
        except OperationalError as exc:
            url = display_url(ctx.obj) if isinstance(ctx.obj, str) else "the database"
            raise click.ClickException(f"cannot use {url}: {exc.orig}") from exc


@click.group(cls=XrmGroup)
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="SQLAlchemy URL of the database (default: sqlite:///xrm.db; env DATABASE_URL).")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """XRM platform: packs of metadata become tables, an API and a UI."""
    ctx.obj = database_url or configured_database_url()


def _engine(ctx: click.Context):  # noqa: ANN202
    return make_engine(ctx.obj)


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or update the platform's own tables (alembic revisions)."""
    upgrade(_engine(ctx))
    console.print(f"Platform tables are up to date in {display_url(ctx.obj)}", soft_wrap=True)


@main.group()
def pack() -> None:
    """Validate, install, plan an upgrade, upgrade and list packs."""


@pack.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--with", "with_packs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Treat this pack folder as installed (for packs that depend on it). Repeatable.")
@click.option("--no-database", is_flag=True, help="Do not look at the installed packs of the database.")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@click.pass_context
def pack_validate(ctx: click.Context, path: Path, with_packs: tuple[Path, ...], no_database: bool, as_json: bool) -> None:
    """Check the pack at PATH and report every problem at once."""
    use_database = not no_database and database_exists(ctx.obj)
    if not no_database and not use_database and not as_json:
        errors.print(f"note: there is no database at {display_url(ctx.obj)}, so no pack counts as installed "
                     "(use --with PATH for the packs this one depends on)", soft_wrap=True, markup=False)
    catalog = installed_catalog(_engine(ctx)) if use_database else platform_catalog()
    for other in with_packs:
        report = validate_pack(other, catalog)
        if not report.ok:
            errors.print(f"note: --with {other} has {_count(report.errors, 'error')} of its own "
                         f"(validate it alone to see them), so it does not count as installed",
                         soft_wrap=True, markup=False)
            continue
        catalog = catalog.with_pack(report.pack)
    report = validate_pack(path, catalog)
    if as_json:
        click.echo(json.dumps({"pack": report.name, "ok": report.ok,
                               "problems": [_problem_json(p) for p in report.problems]}, indent=2))
    else:
        _print_problems(report.problems)
    if not report.ok:
        if not as_json:
            errors.print(f"[red]Pack {escape(report.name)} is not valid: {_count(report.errors, 'error')}, "
                         f"{_count(report.warnings, 'warning')}.[/red]", soft_wrap=True)
        sys.exit(1)
    if not as_json:
        pack_ = report.pack
        summary = ", ".join([
            _count(pack_.entities, "entity", "entities"), _count(pack_.views, "view"),
            _count(pack_.workflows, "workflow"), _count(pack_.roles, "role"),
            _count(pack_.rule_files, "rule file"),
        ])
        warnings = f", {_count(report.warnings, 'warning')}" if report.warnings else ""
        console.print(f"[green]Pack {pack_.name} {pack_.version} is valid[/green]: {summary}{warnings}", soft_wrap=True)


@pack.command("install")
@click.argument("path", type=click.Path(path_type=Path))
@click.pass_context
def pack_install(ctx: click.Context, path: Path) -> None:
    """Install the pack at PATH: create its tables and store its metadata, all or nothing."""
    try:
        result = install_pack(_engine(ctx), path, _context())
    except PackInvalid as exc:
        _print_problems(exc.problems)
        errors.print(f"[red]{escape(str(exc))}. Nothing was installed.[/red]", soft_wrap=True)
        sys.exit(1)
    _print_problems(result.report.warnings)
    tables = sum(op.operation == "create_table" for op in result.operations)
    console.print(f"[green]Installed {result.pack.name} {result.pack.version}[/green]: {tables} tables, "
                  f"{len(result.operations)} schema operations recorded.", soft_wrap=True)


pack.add_command(pack_plan)
pack.add_command(pack_upgrade)


@pack.command("list")
@click.pass_context
def pack_list(ctx: click.Context) -> None:
    """List the installed packs and their entities."""
    catalog = installed_catalog(_engine(ctx))
    if not catalog.packs:
        console.print("No packs installed. Install one with `xrm pack install PATH`.")
        return
    table = Table("Pack", "Version", "Label", "Entities", "Installed")
    for pack_ in catalog.packs.values():
        entities = sorted(e.name for e in catalog.entities.values() if e.pack == pack_.name)
        installed = pack_.installed_at.strftime("%Y-%m-%d %H:%M") if pack_.installed_at else ""
        table.add_row(pack_.name, pack_.version, pack_.label, ", ".join(entities), installed)
    console.print(table)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--packs", "packs_root", default=REPO_PACKS, show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder holding the bundled packs.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, packs_root: Path) -> None:
    """Migrate, install the bundled packs that are missing, and serve the web app."""
    import uvicorn

    from xrm.bootstrap import bundled_pack_dirs, ensure_first_admin, prepare_database
    from xrm.ui.app import create_app

    engine = _engine(ctx)
    try:
        for result in prepare_database(engine, bundled_pack_dirs(packs_root), _context()):
            console.print(f"Installed pack {result.pack.name} {result.pack.version}")
    except PackInvalid as exc:
        _print_problems(exc.problems)
        raise click.ClickException(str(exc)) from exc
    first = ensure_first_admin(engine)
    if first is not None:
        console.print(f"[bold]Created the administrator '{first.username}' with the password "
                      f"{escape(first.password)}[/bold] — sign in at /login and change it with "
                      f"`xrm user password {first.username}`.", soft_wrap=True)
    console.print(f"Serving on http://{host}:{port} (database {display_url(ctx.obj)})", soft_wrap=True)
    uvicorn.run(create_app(engine), host=host, port=port, log_level="info")


main.add_command(user)
main.add_command(team)
main.add_command(scheduler)
main.add_command(rules)
main.add_command(import_csv)
main.add_command(export_csv)


@main.group()
def schema() -> None:
    """The JSON Schemas of pack files."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def schema_export(directory: Path) -> None:
    """Write complete JSON Schemas (with every field type's properties) for editors."""
    from xrm.metadata.schemas import KINDS, complete_field_schema, shipped_schema

    directory.mkdir(parents=True, exist_ok=True)
    for kind in ("defs", *KINDS):
        schema_ = complete_field_schema() if kind == "field" else shipped_schema(kind)
        (directory / f"{kind}.schema.json").write_text(json.dumps(schema_, indent=2) + "\n", encoding="utf-8")
    console.print(f"Wrote {len(KINDS) + 1} schemas to {directory}")
