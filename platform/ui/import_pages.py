"""``/app/{entity}/import``: upload a CSV file, map its columns, watch the import, download the refused rows.

1. The upload (multipart, CSRF-checked) is read whole and checked — encoding,
   CSV syntax, row count — and kept in an import job row with a preview.
2. The mapping page shows the first rows and, per column, a select with the
   suggested field (or "Don't import"), the upsert key and the blank-cell rule.
3. Starting saves the mapping and answers 303 to the job page at once; the
   import runs after the response (a Starlette background task in the server's
   thread pool), batch by batch, each committed with the job's progress.
   The job page shows a progress bar that refreshes itself: a ``<meta refresh>``
   without JavaScript, an htmx poll of ``_import_progress.html`` with it.
   If the server stops mid-import, the job goes stale and the page offers to
   resume it after its last committed batch — from the file kept in the job
   row, so any app process behind a load balancer can.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response, StreamingResponse

from xrm.context import utc_now
from xrm.db import read_only
from xrm.metadata.model import Entity, Field
from xrm.runtime.csv_files import ENCODINGS, CsvFileError, bytes_opener, inspect_csv
from xrm.runtime.csv_import import AlreadyImported, ImportRefused, earlier_job, run_import
from xrm.runtime.csv_mapping import ImportSettings, check_settings, importable_fields, key_fields, suggest_columns
from xrm.runtime.import_jobs import (
    ImportJob,
    create_job,
    drop_abandoned,
    error_csv_lines,
    error_rows,
    get_job,
    job_content,
    recent_jobs,
    set_settings,
)
from xrm.runtime.record_errors import Forbidden, Invalid, NotFound
from xrm.runtime.users import actor_for_user
from xrm.ui.display import when_text
from xrm.ui.page_calls import PageCall

log = logging.getLogger(__name__)

#: Uploads are kept in the database until imported: larger files go through ``xrm import``.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Smaller batches than the command line's: the progress bar moves about once a second.
PAGE_BATCH_SIZE = 100
STATUS_TEXT = {"mapping": "Choose the columns", "queued": "Waiting to start", "running": "Importing",
               "done": "Finished", "failed": "Stopped", "interrupted": "Interrupted"}


@dataclass(frozen=True)
class ColumnRow:
    index: int
    title: str
    samples: tuple[str, ...]
    choices: tuple[tuple[str, str, bool], ...]  # (value, label, selected)


def _entity(call: PageCall) -> Entity:
    entity = call.model.entity(call.param("entity"))
    if not call.service.access(call.context.actor, entity.name).allows("create"):
        raise Forbidden(f"you may not import {entity.plural_label.lower()}")
    return entity


def _job(call: PageCall, entity: Entity) -> ImportJob:
    """The job of the path, when it is the reader's own (administrators see every job)."""
    job = get_job(call.connection, call.param("job"))
    actor = call.context.actor
    if job is None or job.entity != entity.name or not (actor.is_admin or job.user_id == actor.user_id):
        raise NotFound(f"there is no import #{call.param('job')} of {entity.plural_label.lower()}")
    return job


def _base(entity: Entity) -> str:
    return f"/app/{entity.name}/import"


def import_form(call: PageCall, *, error: str | None = None, status: int = 200) -> Response:
    """The upload form and the reader's recent imports of this entity."""
    entity = _entity(call)
    mine = None if call.context.actor.is_admin else call.context.actor.user_id
    jobs = recent_jobs(call.connection, entity.name, mine)
    return call.render("import.html", {
        "entity": entity, "step": "upload", "action": _base(entity), "error": error, "encodings": ENCODINGS.items(),
        "jobs": [_progress(entity, job, call.context.actor.time_zone) for job in jobs], "list_href": f"/app/{entity.name}",
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }, status=status)


def upload(call: PageCall) -> Response:
    """Check the posted file whole and keep it in a new job; then the mapping page."""
    entity = _entity(call)
    assert call.form is not None
    upload_file = call.form.get("file")
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        return import_form(call, error="Choose a CSV file to upload.", status=422)
    data = upload_file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return import_form(call, error=f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: "
                                       "import it with `xrm import` instead.", status=413)
    encoding = str(call.form.get("encoding") or "auto")
    try:
        shape = inspect_csv(bytes_opener(data), encoding=encoding if encoding in ENCODINGS else "auto")
    except CsvFileError as problem:
        return import_form(call, error=f"{upload_file.filename}: {problem}", status=422)
    drop_abandoned(call.connection, call.context.now)
    job_id = create_job(call.connection, entity=entity.name, file_name=upload_file.filename, shape=shape,
                        actor=call.context.actor, now=call.context.now, content=data)
    return RedirectResponse(f"{_base(entity)}/{job_id}", status_code=303)


def _field_label(field: Field) -> str:
    return f"{field.label} ({field.name})"


def _mapping(call: PageCall, entity: Entity, job: ImportJob, *, settings: ImportSettings | None = None,
             errors: list[str] | None = None, status: int = 200, ask_again: bool = False) -> Response:
    fields = importable_fields(call.model, call.context.actor, entity)
    chosen = settings.columns if settings else suggest_columns(job.header, fields)
    rows = []
    for index, title in enumerate(job.header):
        current = chosen[index] if index < len(chosen) else None
        choices = (("", "Don't import", current is None),
                   *((f.name, _field_label(f), f.name == current) for f in fields.values()))
        rows.append(ColumnRow(index, title or f"(column {index + 1})",
                              tuple(r[index] if index < len(r) else "" for r in job.preview[:3]), choices))
    key = settings.key if settings else None
    keys = [("", "None: create a record for every row", key is None),
            *((f.name, _field_label(f), f.name == key) for f in key_fields(entity, fields))]
    return call.render("import.html", {
        "entity": entity, "step": "mapping", "job": job, "columns": rows, "keys": keys,
        "blanks_clear": bool(settings and settings.blanks_clear), "errors": errors or [], "ask_again": ask_again,
        "preview_header": job.header, "preview": job.preview, "action": f"{_base(entity)}/{job.id}",
        "list_href": f"/app/{entity.name}", "import_href": _base(entity),
    }, status=status)


@dataclass(frozen=True)
class Progress:
    job: ImportJob
    status: str
    status_text: str
    percent: int
    href: str
    errors_href: str | None
    resume_action: str | None
    polling: bool
    started: str


def _progress(entity: Entity, job: ImportJob, zone: str) -> Progress:
    status = "interrupted" if job.status in ("queued", "running") and job.interrupted(utc_now()) else job.status
    href = f"{_base(entity)}/{job.id}"
    return Progress(job, status, STATUS_TEXT.get(status, status), job.percent, href,
                    f"{href}/errors.csv" if job.failed else None,
                    f"{href}/resume" if status in ("failed", "interrupted") else None,
                    status in ("queued", "running"), when_text(job.created_at, zone))


def job_page(call: PageCall) -> Response:
    """The mapping step of an uploaded file, else the job's progress or result."""
    entity = _entity(call)
    job = _job(call, entity)
    if job.status == "mapping":
        return _mapping(call, entity, job)
    values = {"entity": entity, "step": "progress", "progress": _progress(entity, job, call.context.actor.time_zone),
              "list_href": f"/app/{entity.name}", "import_href": _base(entity)}
    if call.wants_fragment("import-progress"):
        return call.render_fragment("_import_progress.html", values)
    return call.render("import.html", values)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _posted_settings(call: PageCall, job: ImportJob) -> ImportSettings:
    assert call.form is not None
    columns = tuple(str(call.form.get(f"column-{i}") or "") or None for i in range(len(job.header)))
    return ImportSettings(columns, str(call.form.get("key") or "") or None, call.form.get("blanks_clear") == "on")


def start(call: PageCall) -> Response:
    """Save the mapping and start the import after the response (the job page follows its progress)."""
    entity = _entity(call)
    job = _job(call, entity)
    if job.status != "mapping":
        return RedirectResponse(f"{_base(entity)}/{job.id}", status_code=303)
    settings = _posted_settings(call, job)
    fields = importable_fields(call.model, call.context.actor, entity)
    try:
        check_settings(settings, job.header, entity, fields)
        earlier = earlier_job(call.connection, entity.name, job.checksum, settings,
                              again=call.form is not None and call.form.get("again") == "on", exclude=job.id)
    except Invalid as error:
        return _mapping(call, entity, job, settings=settings, errors=[_sentence(e.message) for e in error.errors],
                        status=422)
    except AlreadyImported as error:
        return _mapping(call, entity, job, settings=settings, status=409, ask_again=True,
                        errors=[f"{_sentence(str(error))}. Choose an update key to update them, "
                                "or tick “Import it again”."])
    except ImportRefused as error:
        return _mapping(call, entity, job, settings=settings, errors=[_sentence(str(error))], status=409)
    if earlier is not None:
        return _mapping(call, entity, job, settings=settings, status=409, errors=[
            f"An earlier import of this file (#{earlier.id}) stopped after row {earlier.last_row}: "
            f"resume it from its page, {_base(entity)}/{earlier.id}, so that no row is imported twice."])
    set_settings(call.connection, job, settings, call.context.now)
    return _run_after(call, entity, job)


def resume(call: PageCall) -> Response:
    """Go on with a stopped or interrupted job after its last committed batch."""
    entity = _entity(call)
    job = _job(call, entity)
    return _run_after(call, entity, job)


def _run_after(call: PageCall, entity: Entity, job: ImportJob) -> Response:
    user_id = call.context.actor.user_id
    task = BackgroundTask(_run_job, call.request.app.state, job.id, user_id)
    return RedirectResponse(f"{_base(entity)}/{job.id}", status_code=303, background=task)


def _run_job(state: Any, job_id: int, user_id: int) -> None:
    """The import itself, after the response: its progress and outcome are in the job row for the page to show."""
    with read_only(state.engine.connect()) as connection:
        actor = actor_for_user(connection, user_id)
        content = job_content(connection, job_id)
    if actor is None or content is None:
        return
    try:
        run_import(state.engine, state.catalog, job_id, actor, bytes_opener(content), hooks=state.write_hooks,
                   batch_size=PAGE_BATCH_SIZE)
    except ImportRefused as refused:  # already running elsewhere, or finished meanwhile: the page tells
        log.info("import #%s not run: %s", job_id, refused)
    except Exception:  # the job row says it stopped and why; the page offers to resume it
        log.exception("import #%s stopped", job_id)


def errors_csv(call: PageCall) -> Response:
    """The refused rows: the original cells, then ``row`` and ``errors``."""
    entity = _entity(call)
    job = _job(call, entity)
    state = call.request.app.state

    def lines() -> Any:
        with read_only(state.engine.connect()) as connection:
            yield "\ufeff"  # a byte-order mark, so that Excel reads the file as UTF-8
            yield from error_csv_lines(job.header, error_rows(connection, job.id))

    name = f"{entity.name}-import-{job.id}-errors.csv"
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})
