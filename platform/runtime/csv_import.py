"""Importing a CSV file into an entity: every row through ``RecordService``, in batches that commit.

The file is checked whole first (``xrm.runtime.csv_files``), so a file in the
wrong encoding or broken CSV writes nothing.  Then each batch of rows runs in
one transaction together with its job's progress (``xrm.runtime.import_jobs``):

- each row is one ``create`` or, when the upsert key finds a record, one
  ``update`` — validation, formulas, rules and audit with ``source = "import"``;
- a refused row is undone alone (the service's savepoint) and kept, with every
  error and its original cells, for the error CSV; the import goes on;
- a crash loses only the batch in flight; running the job again (or the same
  file again: same entity and checksum) resumes after the last committed row.

Outcomes per row: created, updated, unchanged (the key found a record and the
row changed nothing), failed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from xrm.context import Actor, Context, utc_now
from xrm.errors import XrmError
from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Entity, Field
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.csv_files import CsvShape, Opener, inspect_csv, read_rows
from xrm.runtime.csv_mapping import ID_FIELD, ImportSettings, References, check_settings, importable_fields, row_input
from xrm.runtime.import_jobs import (
    ImportJob,
    RowError,
    claim,
    create_job,
    finish,
    get_job,
    jobs_of_file,
    record_batch,
)
from xrm.runtime.permissions import entity_access, scope_condition
from xrm.runtime.record_errors import Forbidden, RecordError
from xrm.runtime.record_hooks import WriteHook
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService

BATCH_SIZE = 500
_RECORD_ID = re.compile(r"[0-9]{1,18}")

Progress = Callable[[ImportJob], None]


class ImportRefused(XrmError):
    """The import cannot start or go on (not a row's fault): the job is done, running elsewhere, or the file changed."""


class AlreadyImported(ImportRefused):
    """The same file went into the same entity before, and importing it again would create its records twice."""

    def __init__(self, job: ImportJob) -> None:
        super().__init__(f"this file was imported already (import #{job.id}: {job.created:,} created, "
                         f"{job.failed:,} failed); importing it again would create its records twice")
        self.job = job


class _RowRefused(Exception):
    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__()
        self.errors = list(errors)


def earlier_job(connection: Connection, entity: str, checksum: str, settings: ImportSettings,
                *, again: bool, exclude: int | None = None) -> ImportJob | None:
    """The unfinished import of the same file to resume (None: start a new one); refuses a second plain import.

    Importing a finished file again is refused without an upsert key (it would
    create every record twice) unless ``again`` says so.
    """
    for job in jobs_of_file(connection, entity, checksum):
        if job.id == exclude or job.status == "mapping":
            continue
        if job.status in ("queued", "running", "failed"):
            if job.settings != settings:
                raise ImportRefused(f"import #{job.id} of this file stopped after row {job.last_row} with other "
                                    "column settings: run it with the same settings to resume it")
            return job
        if job.status == "done" and settings.key is None and not again:
            raise AlreadyImported(job)
    return None


def start_import(engine: Engine, cache: CatalogCache, actor: Actor, entity: str, shape: CsvShape, file_name: str,
                 settings: ImportSettings, *, again: bool = False, content: bytes | None = None) -> tuple[int, bool]:
    """The job to run for this file and settings — ``(id, resumed)``: an unfinished one of the same file, or a new one.

    ``Invalid`` when the settings do not fit the entity as the actor may change it.
    """
    with engine.begin() as connection:
        model = cache.model_for(connection)
        access = entity_access(model.catalog, actor, entity)
        if not (access.allows("create") or (settings.key is not None and access.allows("update"))):
            raise Forbidden(f"you may not create {model.entity(entity).plural_label.lower()}")
        check_settings(settings, shape.header, model.entity(entity), importable_fields(model, actor, model.entity(entity)))
        earlier = earlier_job(connection, entity, shape.checksum, settings, again=again)
        if earlier is not None:
            return earlier.id, True
        return create_job(connection, entity=entity, file_name=file_name, shape=shape, actor=actor, now=utc_now(),
                          settings=settings, content=content), False


def run_import(engine: Engine, cache: CatalogCache, job_id: int, actor: Actor, open_file: Opener, *,
               hooks: Sequence[WriteHook] = (), batch_size: int = BATCH_SIZE,
               progress: Progress | None = None) -> ImportJob:
    """Run (or resume) the job over the file ``open_file`` reads; returns the finished job."""
    with engine.begin() as connection:
        job = get_job(connection, job_id)
        if job is None or job.settings is None:
            raise ImportRefused(f"there is no import #{job_id} ready to run")
        if not claim(connection, job, utc_now()):
            raise ImportRefused(f"import #{job_id} is {job.status}" + (" in another process" if job.status == "running"
                                                                          else ""))
    try:
        shape = inspect_csv(open_file, encoding=job.encoding, delimiter=job.delimiter)
        if shape.checksum != job.checksum:
            raise ImportRefused(f"the file changed since import #{job_id} started: import it as a new file")
        batches = _Batches(cache, job, actor, hooks)
        for rows in _chunks(read_rows(open_file, shape), batch_size, after=job.last_row):
            job = batches.commit(engine, rows)
            if progress is not None:
                progress(job)
    except BaseException as error:  # also Ctrl-C: the job says where it stopped
        _finish_quietly(engine, job_id, "failed", f"stopped: {error}" if str(error) else type(error).__name__)
        raise
    with engine.begin() as connection:
        finish(connection, job_id, "done", utc_now())
        finished = get_job(connection, job_id)
    assert finished is not None
    return finished


def _finish_quietly(engine: Engine, job_id: int, status: str, message: str) -> None:
    try:
        with engine.begin() as connection:
            finish(connection, job_id, status, utc_now(), message[:2000])
    except Exception:  # noqa: BLE001 - the database may be what failed; the job then stays 'running' and goes stale
        pass


def _chunks(rows: Iterable[tuple[int, list[str]]], size: int, *, after: int) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if number <= after:
            continue
        chunk.append((number, cells))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Batches:
    """Writes batches of rows of one job, each in its own transaction with the job's progress."""

    def __init__(self, cache: CatalogCache, job: ImportJob, actor: Actor, hooks: Sequence[WriteHook]) -> None:
        assert job.settings is not None
        self.cache, self.job, self.actor, self.hooks = cache, job, actor, tuple(hooks)
        self.settings: ImportSettings = job.settings
        self.titles = {name: title for title, name in zip(job.header, self.settings.columns, strict=False) if name}
        self.references: References | None = None

    def commit(self, engine: Engine, rows: list[tuple[int, list[str]]]) -> ImportJob:
        with engine.begin() as connection:
            model = self.cache.model_for(connection)
            if self.references is None or self.references.model is not model:
                self.references = References(model, self.actor)
            step = _Row(connection, model, RecordService(model, self.hooks), Context(self.actor, "import"),
                        self.job, self.references)
            counts: Counter[str] = Counter()
            refused = []
            for number, cells in rows:
                try:
                    counts[step.write(cells)] += 1
                except _RowRefused as error:
                    counts["failed"] += 1
                    refused.append(RowError(number, tuple(cells), self._text(error.errors)))
            record_batch(connection, self.job, rows[-1][0], dict(counts), refused, step.context.now)
            job = get_job(connection, self.job.id)
        assert job is not None
        return job

    def _text(self, errors: Sequence[FieldError]) -> str:
        """``Email: 'x' is not an e-mail address; Account: there is no account 'Acme'``."""
        by_message: dict[str, list[str]] = {}
        for error in errors:  # one message blaming several fields (a validation rule) is said once
            titles = by_message.setdefault(error.message, [])
            title = self.titles.get(error.field or "", error.field)
            if title and title not in titles:
                titles.append(title)
        text = "; ".join(f"{', '.join(titles)}: {message}" if titles else message
                         for message, titles in by_message.items())
        return text.replace("\x00", "\ufffd")  # a message quoting a cell with NUL: PostgreSQL text refuses it


@dataclass
class _Row:
    """One row written through the record service, within one batch's transaction."""

    connection: Connection
    model: RecordModel
    service: RecordService
    context: Context
    job: ImportJob
    references: References

    def __post_init__(self) -> None:
        self.entity: Entity = self.model.entity(self.job.entity)
        self.settings: ImportSettings = self.job.settings  # type: ignore[assignment]
        self.fields: dict[str, Field] = importable_fields(self.model, self.context.actor, self.entity)

    def write(self, cells: list[str]) -> str:
        """``created``, ``updated`` or ``unchanged``; ``_RowRefused`` with every problem of the row."""
        if len(cells) > len(self.job.header):
            raise _RowRefused([FieldError(None, f"the row has {len(cells)} cells but the header names "
                                                f"{len(self.job.header)} columns", "shape")])
        existing = self._existing(cells)
        values, problems = row_input(self.connection, cells, self.settings, self.fields, self.references,
                                     creating=existing is None)
        if problems:  # the service still checks the rest, so the row's every problem is reported at once
            bad = {p.field for p in problems}
            values = {k: v for k, v in values.items() if k not in bad}
            raise _RowRefused([*problems, *(e for e in self._trial(existing, values) if e.field not in bad)])
        try:
            return self._write(existing, values)
        except RecordError as error:
            raise _RowRefused(_errors_of(error)) from None

    def _write(self, existing: tuple[int, int] | None, values: dict[str, Any]) -> str:
        if existing is None:
            self.service.create(self.connection, self.context, self.entity.name, values)
            return "created"
        record = self.service.update(self.connection, self.context, self.entity.name, existing[0], values)
        return "unchanged" if record.get("version") == existing[1] else "updated"

    def _trial(self, existing: tuple[int, int] | None, values: dict[str, Any]) -> list[FieldError]:
        """The service's objections to the rest of the row, in a savepoint that is rolled back either way."""
        try:
            with self.connection.begin_nested() as savepoint:
                self._write(existing, values)
                savepoint.rollback()
        except RecordError as error:
            return _errors_of(error)
        return []

    def _existing(self, cells: list[str]) -> tuple[int, int] | None:
        """``(id, version)`` of the record the upsert key names, within the importer's scope; None: create."""
        key = self.settings.key
        if key is None:
            return None
        index = self.settings.columns.index(key)
        text = cells[index].strip() if index < len(cells) else ""
        if not text:
            return None
        table = self.model.table(self.entity.name)
        if key == ID_FIELD.name:
            if not _RECORD_ID.fullmatch(text):
                raise _RowRefused([FieldError("id", f"'{text}' is not a record id", "type")])
            condition = table.c.id == int(text)
        else:
            field = self.fields[key]
            try:
                condition = table.c[key] == get_field_type(field.type).coerce(text, field)
            except FieldValueError as error:
                raise _RowRefused([FieldError(key, error.message, error.code)]) from None
        statement = select(table.c.id, table.c.version).where(condition)
        access = entity_access(self.model.catalog, self.context.actor, self.entity.name)
        if access.read is None:
            return None  # the service refuses the create: the actor may not even read these records
        scope = scope_condition(access.read, table, self.context.actor)  # type: ignore[arg-type]
        if scope is not None:
            statement = statement.where(scope)
        row = self.connection.execute(statement).first()
        if row is None and key == ID_FIELD.name:
            raise _RowRefused([FieldError("id", f"there is no {self.entity.label.lower()} with id {text}", "not_found")])
        return None if row is None else (row[0], row[1])


def _errors_of(error: RecordError) -> list[FieldError]:
    return list(error.errors) or [FieldError(None, error.detail, "refused")]
