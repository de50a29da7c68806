"""``xrm import`` and ``xrm export``: CSV files in and out of an entity, with a progress bar."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from xrm.context import Actor, Context
from xrm.db import make_engine, read_only
from xrm.migrate import upgrade
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.csv_export import count_rows, csv_chunks, export_rows, plan_export
from xrm.runtime.csv_files import ENCODINGS, CsvFileError, inspect_csv, path_opener
from xrm.runtime.csv_import import BATCH_SIZE, AlreadyImported, ImportRefused, run_import, start_import
from xrm.runtime.csv_mapping import ImportSettings, importable_fields, suggest_columns
from xrm.runtime.import_jobs import ImportJob, error_csv_lines, error_rows, get_job
from xrm.runtime.record_errors import RecordError
from xrm.runtime.users import actor_for_user, find_user

console = Console(highlight=False, stderr=True)


def _engine(ctx: click.Context):  # noqa: ANN202
    engine = make_engine(ctx.obj)
    upgrade(engine)
    return engine


def _actor(engine, username: str | None) -> Actor:  # noqa: ANN001
    """The user named by ``--as`` (their roles and scope apply), else the platform acting for the login name."""
    if username is None:
        return Actor.system(getpass.getuser())
    with read_only(engine.connect()) as connection:
        user = find_user(connection, username)
        actor = actor_for_user(connection, user.id) if user is not None else None
    if actor is None:
        raise click.ClickException(f"there is no active user '{username}' (see `xrm user list`)")
    return actor


def _fail(error: RecordError) -> click.ClickException:
    lines = [error.detail, *(f"  {e.field}: {e.message}" if e.field else f"  {e.message}" for e in error.errors)]
    return click.ClickException("\n".join(lines))


def _columns(header: tuple[str, ...], suggested: tuple[str | None, ...], mapped: tuple[str, ...],
             ignored: tuple[str, ...]) -> tuple[str | None, ...]:
    """The suggestion with ``--map "Header=field"`` and ``--ignore Header`` applied."""
    columns = list(suggested)
    for item in mapped:
        title, sep, field = item.rpartition("=")
        if not sep or title.strip() not in header:
            raise click.BadParameter(f"'{item}': give HEADER=FIELD with a header of the file "
                                     f"({', '.join(header)})", param_hint="--map")
        columns[header.index(title.strip())] = field.strip() or None
    for title in ignored:
        if title not in header:
            raise click.BadParameter(f"the file has no column '{title}'", param_hint="--ignore")
        columns[header.index(title)] = None
    return tuple(columns)


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                    TimeRemainingColumn(), console=console, transient=False)


@click.command("import")
@click.argument("entity")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", metavar="FIELD", help="Update the record whose FIELD (a unique field, or id) matches; create the others.")
@click.option("--map", "mapped", multiple=True, metavar="HEADER=FIELD",
              help="Fill FIELD from the column HEADER (default: the field named or labelled like it). Repeatable.")
@click.option("--ignore", "ignored", multiple=True, metavar="HEADER", help="Leave this column out. Repeatable.")
@click.option("--encoding", default="auto", show_default=True,
              help=f"The file's encoding: {', '.join(ENCODINGS)} (or any Python codec name).")
@click.option("--delimiter", help="The cell separator (default: guessed from the header among , ; tab |).")
@click.option("--blanks-clear", is_flag=True, help="On updates an empty cell clears the field (default: keeps it).")
@click.option("--again", is_flag=True, help="Import a file that was imported before, creating its records again.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the refused rows (default: FILE with .errors.csv).")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows per committed batch.")
@click.option("--as", "username", help="Import as this user (their permissions apply); default: the platform.")
@click.pass_context
def import_csv(ctx: click.Context, entity: str, file: Path, key: str | None, mapped: tuple[str, ...],
               ignored: tuple[str, ...], encoding: str, delimiter: str | None, blanks_clear: bool, again: bool,
               errors_path: Path | None, batch_size: int, username: str | None) -> None:
    """Import the CSV FILE into ENTITY: every row through the record service, bad rows to an error CSV.

    Re-running an interrupted import of the same file resumes after its last committed batch.
    """
    engine = _engine(ctx)
    actor = _actor(engine, username)
    cache = CatalogCache(engine)
    opener = path_opener(str(file))
    try:
        shape = inspect_csv(opener, encoding=encoding, delimiter=delimiter)
    except CsvFileError as error:
        raise click.ClickException(f"{file}: {error}") from None
    model = cache.model()
    try:
        fields = importable_fields(model, actor, model.entity(entity))
        columns = _columns(shape.header, suggest_columns(shape.header, fields), mapped, ignored)
        for title, name in zip(shape.header, columns, strict=True):
            console.print(f"  {escape(title) or '(no header)'} → {escape(name) if name else '[dim]ignored[/dim]'}")
        settings = ImportSettings(columns, key, blanks_clear)
        job_id, resumed = start_import(engine, cache, actor, entity, shape, file.name, settings, again=again)
    except RecordError as error:
        raise _fail(error) from None
    except AlreadyImported as error:
        raise click.ClickException(f"{error}: give --key FIELD to update them, or --again to import it again") from None
    except ImportRefused as error:
        raise click.ClickException(str(error)) from None
    with engine.connect() as connection:
        job = get_job(connection, job_id)
    assert job is not None
    if resumed:
        console.print(f"Resuming import #{job_id} after row {job.last_row} ({job.processed:,} rows already in).")
    with _bar() as progress:
        task = progress.add_task(f"{entity} #{job_id}", total=job.total_rows, completed=job.processed)
        try:
            job = run_import(engine, cache, job_id, actor, opener, batch_size=batch_size,
                             progress=lambda j: progress.update(task, completed=j.processed))
        except ImportRefused as error:
            raise click.ClickException(str(error)) from None
    _report(engine, job, errors_path or file.with_name(file.stem + ".errors.csv"))


def _report(engine, job: ImportJob, errors_path: Path) -> None:  # noqa: ANN001
    console.print(f"Import #{job.id}: [green]{job.created:,} created[/green], {job.updated:,} updated, "
                  f"{job.unchanged:,} unchanged, " + (f"[red]{job.failed:,} failed[/red]" if job.failed else "0 failed"))
    if not job.failed:
        return
    with read_only(engine.connect()) as connection, errors_path.open("w", encoding="utf-8", newline="") as out:
        for chunk in error_csv_lines(job.header, error_rows(connection, job.id)):
            out.write(chunk)
    console.print(f"The refused rows, each with its row number and errors, are in {escape(str(errors_path))}",
                  soft_wrap=True)
    sys.exit(1)


@click.command("export")
@click.argument("entity")
@click.option("--filter", "filter_", metavar="EXPR", help="Only the records for which EXPR holds (the filter language).")
@click.option("--columns", help="Comma-separated field names (default: id and every field you may see).")
@click.option("--sort", help="Sort keys, e.g. -created_at,last_name (default: by id).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: standard output).")
@click.option("--as", "username", help="Export as this user: their record scope and hidden fields apply.")
@click.pass_context
def export_csv(ctx: click.Context, entity: str, filter_: str | None, columns: str | None, sort: str | None,
               output: Path | None, username: str | None) -> None:
    """Write ENTITY's records as CSV, streamed (constant memory however many rows)."""
    engine = _engine(ctx)
    actor = _actor(engine, username)
    cache = CatalogCache(engine)
    context = Context(actor, "cli")
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    with read_only(engine.connect()) as connection:
        model = cache.model_for(connection)
        try:
            plan = plan_export(model, context, entity, names, filter=filter_, sort=sort)
        except RecordError as error:
            raise _fail(error) from None
        if output is None:
            for chunk in csv_chunks(export_rows(connection, model, context, plan)):
                sys.stdout.write(chunk)
            return
        total = count_rows(connection, model, context, plan)
        rows = export_rows(connection, model, context, plan)
        header = next(rows)
        written = 0

        def counted():  # noqa: ANN202
            nonlocal written
            yield header
            for row in rows:
                written += 1
                yield row

        with _bar() as progress, output.open("w", encoding="utf-8", newline="") as out:
            task = progress.add_task(f"{entity} → {output.name}", total=total)
            for chunk in csv_chunks(counted()):
                out.write(chunk)
                progress.update(task, completed=written)
    console.print(f"Exported {written:,} {model.entity(entity).plural_label.lower()} to {escape(str(output))}",
                  soft_wrap=True)
