"""Import jobs: one row per CSV import, with the file's checksum and the last row committed.

A job's progress (``last_row`` and the counts) and the rows it refused are
written in the same transaction as the batch of records they describe, so
after a crash the job says exactly which rows are in: a re-run of the same file
(same entity and checksum) resumes after the last committed batch.

Statuses: ``mapping`` (uploaded, columns not chosen yet), ``queued``,
``running`` (``updated_at`` is its heartbeat, moved with every batch), ``done``,
``failed`` (stopped by an error that is not a row's fault; resumable).
"""

from __future__ import annotations

import csv
import io
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from xrm.context import Actor
from xrm.runtime.csv_files import CsvShape
from xrm.runtime.csv_mapping import ImportSettings
from xrm.system_tables import import_errors, import_jobs

#: A running job whose heartbeat is older than this was interrupted (its process died): it may be resumed.
STALE_AFTER = timedelta(minutes=2)
RESUMABLE = ("queued", "failed")


@dataclass(frozen=True)
class ImportJob:
    id: int
    entity: str
    file_name: str
    checksum: str
    encoding: str
    delimiter: str
    header: tuple[str, ...]
    #: the first rows (cells cut to 200 characters), for the mapping page
    preview: tuple[tuple[str, ...], ...]
    settings: ImportSettings | None
    status: str
    total_rows: int
    last_row: int
    created: int
    updated: int
    unchanged: int
    failed: int
    message: str | None
    runner: str | None
    user_id: int | None
    actor: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.processed * 100 // self.total_rows)

    def interrupted(self, now: datetime) -> bool:
        """Stopped before the end: failed, or queued or running without a heartbeat for a while."""
        return self.status == "failed" or (self.status in ("queued", "running") and now - self.updated_at > STALE_AFTER)


@dataclass(frozen=True)
class RowError:
    row: int
    cells: tuple[str, ...]
    errors: str


def _job(row: Any) -> ImportJob:
    data = dict(row._mapping)
    raw = data.pop("settings") or {}
    data.pop("content", None)
    settings = ImportSettings.from_json(raw) if "columns" in raw else None
    return ImportJob(**data, settings=settings, delimiter=raw.get("delimiter", ","), header=tuple(raw.get("header", ())),
                     preview=tuple(tuple(r) for r in raw.get("preview", ())))


_COLUMNS = [c for c in import_jobs.c if c.name != "content"]


def create_job(connection: Connection, *, entity: str, file_name: str, shape: CsvShape, actor: Actor, now: datetime,
               settings: ImportSettings | None = None, content: bytes | None = None) -> int:
    """A new job: ``mapping`` until ``settings`` are given, then ``queued``."""
    return connection.execute(insert(import_jobs).values(
        entity=entity, file_name=file_name[:255], checksum=shape.checksum, encoding=shape.encoding, content=content,
        settings=_settings_json(shape.delimiter, shape.header, settings, [[c[:200] for c in r] for r in shape.preview]),
        status="mapping" if settings is None else "queued",
        total_rows=shape.rows, last_row=0, created=0, updated=0, unchanged=0, failed=0, user_id=actor.user_id,
        actor=actor.name[:150], created_at=now, updated_at=now,
    ).returning(import_jobs.c.id)).scalar_one()


def _settings_json(delimiter: str, header: Sequence[str], settings: ImportSettings | None,
                   preview: Sequence[Sequence[str]]) -> dict[str, Any]:
    return {"delimiter": delimiter, "header": list(header), "preview": [list(r) for r in preview],
            **(settings.to_json() if settings else {})}


#: Uploads whose columns were never chosen are dropped after this (with the file they hold).
ABANDONED_AFTER = timedelta(days=1)


def drop_abandoned(connection: Connection, now: datetime) -> int:
    """Delete jobs left at the mapping step for a day; how many."""
    return connection.execute(delete(import_jobs).where(
        import_jobs.c.status == "mapping", import_jobs.c.updated_at < now - ABANDONED_AFTER)).rowcount


def get_job(connection: Connection, job_id: int) -> ImportJob | None:
    row = connection.execute(select(*_COLUMNS).where(import_jobs.c.id == job_id)).first()
    return None if row is None else _job(row)


def job_content(connection: Connection, job_id: int) -> bytes | None:
    return connection.execute(select(import_jobs.c.content).where(import_jobs.c.id == job_id)).scalar()


def jobs_of_file(connection: Connection, entity: str, checksum: str) -> list[ImportJob]:
    """Earlier imports of the same file into the same entity, newest first."""
    rows = connection.execute(select(*_COLUMNS).where(
        import_jobs.c.entity == entity, import_jobs.c.checksum == checksum).order_by(import_jobs.c.id.desc()))
    return [_job(r) for r in rows]


def recent_jobs(connection: Connection, entity: str, user_id: int | None, limit: int = 10) -> list[ImportJob]:
    statement = select(*_COLUMNS).where(import_jobs.c.entity == entity)
    if user_id is not None:
        statement = statement.where(import_jobs.c.user_id == user_id)
    return [_job(r) for r in connection.execute(statement.order_by(import_jobs.c.id.desc()).limit(limit))]


def set_settings(connection: Connection, job: ImportJob, settings: ImportSettings, now: datetime) -> None:
    """The chosen columns and key: the job is ``queued``."""
    connection.execute(update(import_jobs).where(import_jobs.c.id == job.id).values(
        settings=_settings_json(job.delimiter, job.header, settings, job.preview), status="queued", updated_at=now))


def this_runner() -> str:
    """Who runs a job: host, process and thread (a process on this host that is gone no longer runs anything)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:255]


def _gone(runner: str | None) -> bool:
    """The runner was a process of this host that no longer exists (killed): its job may be taken over at once."""
    host, _, rest = (runner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def claim(connection: Connection, job: ImportJob, now: datetime) -> bool:
    """Mark the job running for this runner; False when it is done or another runner has it.

    A running job is taken over when its heartbeat is stale or its process on this host is gone.
    """
    table = import_jobs.c
    takeover = (table.status == "running") & (table.updated_at < now - STALE_AFTER)
    if job.status == "running" and _gone(job.runner):
        takeover = (table.status == "running") & (table.runner == job.runner)
    result = connection.execute(update(import_jobs).where(
        table.id == job.id, or_(table.status.in_(RESUMABLE), takeover),
    ).values(status="running", updated_at=now, message=None, runner=this_runner()))
    return result.rowcount == 1


def record_batch(connection: Connection, job: ImportJob, last_row: int, counts: dict[str, int],
                 errors: Sequence[RowError], now: datetime) -> None:
    """The batch's progress and refused rows — in the transaction of the batch's records."""
    if errors:
        connection.execute(insert(import_errors), [
            {"job_id": job.id, "row": e.row, "cells": list(e.cells), "errors": e.errors} for e in errors])
    table = import_jobs.c
    connection.execute(update(import_jobs).where(table.id == job.id).values(
        last_row=last_row, updated_at=now, **{name: getattr(table, name) + n for name, n in counts.items() if n}))


def finish(connection: Connection, job_id: int, status: str, now: datetime, message: str | None = None) -> None:
    """``done`` (the uploaded file is no longer needed) or ``failed`` with the reason."""
    values: dict[str, Any] = {"status": status, "updated_at": now, "message": message}
    if status == "done":
        values.update(finished_at=now, content=None)
    connection.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(values))


def error_rows(connection: Connection, job_id: int) -> Iterator[RowError]:
    statement = select(import_errors).where(import_errors.c.job_id == job_id).order_by(import_errors.c.row)
    for row in connection.execute(statement):
        yield RowError(row.row, tuple(row.cells), row.errors)


def error_csv_lines(header: Sequence[str], rows: Iterator[RowError]) -> Iterator[str]:
    """The error CSV: the original columns, then ``row`` (the spreadsheet's row number) and ``errors``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*header, "row", "errors"])
    for error in rows:
        cells = list(error.cells) + [""] * (len(header) - len(error.cells))
        writer.writerow([*cells, error.row, error.errors])
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
