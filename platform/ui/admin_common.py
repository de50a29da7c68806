"""What every admin page shares: administrators only, a posted form turned into one ``MetaChange`` and run
by ``apply_change`` outside the page's own connection, refusals placed next to the inputs they concern.

A change takes the schema lock in a transaction of its own, so the page reads
on a read-only connection (``page_calls``), closes it, applies the change, and
renders the answer on a fresh read-only connection — which sees the new
metadata at once.

Example: ``change_endpoint(build, done, refused)`` for the "edit a field" form —
``build(call)`` reads ``call.form`` into ``MetaChange("update_field", ...)``,
``done(call, result)`` redirects, ``refused(call, error)`` renders the form
again with ``place_problems(error, inputs, "field")`` beside each input.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from xrm.context import Context
from xrm.metadata.customize import ChangeResult, MetaChange, MetaRefused, apply_change
from xrm.metadata.problems import PackProblem
from xrm.metadata.schema_changes import Offending
from xrm.runtime.record_errors import Forbidden
from xrm.ui.page_calls import PageCall, _run, sign_in_redirect

#: reads the posted form into a change; or answers at once (a redirect when the form changes nothing)
Build = Callable[[PageCall], MetaChange | Response]
Done = Callable[[PageCall, ChangeResult], Response]
Refused = Callable[[PageCall, MetaRefused], Response]

#: Where a problem's JSON path names the input, by what the form edits: ``$.fields[3].max_length`` → max_length.
SCOPES = {
    "entity": re.compile(r"^\$\.(?P<key>[A-Za-z_]+)"),
    "field": re.compile(r"^\$\.fields\[(?P<index>\d+)\]\.(?P<key>[A-Za-z_]+)"),
    "option": re.compile(r"^\$\.fields\[(?P<index>\d+)\]\.options\[\d+\]\.(?P<key>[A-Za-z_]+)"),
    "permission": re.compile(r"^\$\.permissions\.[a-z0-9_]+\.(?P<key>[A-Za-z_]+)"),
}
#: Problems about the request itself (``customize`` refusing a name) say ``$.name``.
REQUEST_PATH = SCOPES["entity"]


@dataclass(frozen=True)
class Input:
    """One input of an admin form; ``control`` is text, textarea, number, select, checkbox or checkboxes."""

    id: str
    name: str
    label: str
    control: str = "text"
    value: Any = ""
    choices: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()
    hint: str | None = None
    wide: bool = False


@dataclass(frozen=True)
class Placed:
    """A refusal spread over the form: messages per input name, and the summary's lines (every problem)."""

    by_input: Mapping[str, tuple[str, ...]]
    summary: tuple[Mapping[str, str | None], ...]


def require_admin(call: PageCall) -> None:
    if not call.context.actor.is_admin:
        raise Forbidden("only administrators customize the system")


def problem_text(problem: PackProblem) -> str:
    text = problem.message
    if problem.expected:
        text += f" (expected {problem.expected})"
    if problem.hint:
        text += f" — {problem.hint}"
    return text


def _input_name(problem: PackProblem, scope: str, names: Iterable[str], prefixes: tuple[str, ...],
                index: int | None) -> str | None:
    """The input a problem is about: its path's key (with one of ``prefixes``), on field ``index`` when it says."""
    match = (REQUEST_PATH if problem.file == "request" else SCOPES[scope]).match(problem.path or "")
    if match is None or (index is not None and match.groupdict().get("index", str(index)) != str(index)):
        return None
    return next((p + match["key"] for p in prefixes if p + match["key"] in names), None)


def place_problems(error: MetaRefused | None, inputs: Iterable[Input], scope: str,
                   prefixes: tuple[str, ...] = ("",), index: int | None = None) -> Placed:
    """Each problem of ``error`` next to the input its path names, and every one in the summary.

    ``index`` is the position of the field the form edits in its entity document: a problem
    of another field (``$.fields[7].expression`` of a formula using this one) is only in the summary.
    """
    if error is None:
        return Placed({}, ())
    by_name = {i.name: i for i in inputs}
    placed: dict[str, list[str]] = {}
    summary: list[Mapping[str, str | None]] = []
    for problem in error.problems:
        name = _input_name(problem, scope, by_name, prefixes, index)
        text = problem_text(problem)
        if name is not None:
            placed.setdefault(name, []).append(text)
            summary.append({"text": f"{by_name[name].label}: {text}", "href": f"#{by_name[name].id}"})
        else:
            summary.append({"text": f"{text} ({problem.file} {problem.path or ''})".replace(" )", ")"), "href": None})
    if not summary:
        summary.append({"text": error.detail, "href": "#offending" if error.offending else None})
    return Placed({k: tuple(v) for k, v in placed.items()}, tuple(summary))


def with_errors(inputs: Iterable[Input], placed: Placed) -> list[Input]:
    return [replace(i, errors=placed.by_input.get(i.name, ())) for i in inputs]


@dataclass(frozen=True)
class OffendingView:
    """Records in the way of a change: why, how many, and links to a sample of them."""

    message: str
    count: int
    columns: tuple[str, ...]
    rows: tuple[tuple[str, str, tuple[str, ...]], ...]  # (record href, its name, the values at fault)


def offending_views(found: Iterable[Offending]) -> list[OffendingView]:
    views = []
    for offending in found:
        columns = tuple(c for c in (offending.sample[0] if offending.sample else {}) if c != "id")
        rows = tuple((f"/app/{offending.entity}/{row['id']}", f"#{row['id']}",
                      tuple("" if row.get(c) is None else str(row[c]) for c in columns))
                     for row in offending.sample)
        views.append(OffendingView(offending.message, offending.count, columns, rows))
    return views


def refusal_values(error: MetaRefused | None, placed: Placed) -> dict[str, Any]:
    """The template values every admin form shows a refusal with."""
    return {"errors": list(placed.summary), "offending": offending_views(error.offending if error else ())}


def form_text(form: FormData | None, name: str) -> str:
    value = form.get(name) if form is not None else None
    return value.strip() if isinstance(value, str) else ""


def _posted(call: PageCall, form: FormData) -> PageCall:
    return replace(call, form=form)


async def checked_form(request: Request) -> FormData | Response:
    """The posted form of a signed-in user with the session's CSRF token, or the answer refusing it."""
    if not isinstance(request.session.get("user_id"), int):
        return sign_in_redirect(request)
    form = await request.form()
    if not secrets.compare_digest(str(form.get("csrf_token", "")), request.session.get("csrf", "") or "-"):
        return PlainTextResponse("The form expired. Go back, reload the page and try again.", 403)
    return form


class _Built(Response):
    """What the first, read-only step hands to the second: who acts (and the change, when there is one)."""

    def __init__(self, call: PageCall, change: MetaChange | None = None) -> None:
        super().__init__(status_code=204)
        self.change, self.context = change, call.context


def admin_context(request: Request) -> Context | Response:
    """The administrator making a request (read on a connection closed again), or the page refusing them."""
    def check(call: PageCall) -> Response:
        require_admin(call)
        return _Built(call)

    built = _run(check, request)
    return built.context if isinstance(built, _Built) else built


def render_posted(request: Request, form: FormData, page: Callable[[PageCall], Response]) -> Response:
    """``page`` on a fresh read-only connection (seeing the metadata a change just made), with the posted form."""
    return _run(lambda call: page(_posted(call, form)), request)


def change_endpoint(build: Build, done: Done, refused: Refused) -> Callable[[Request], Any]:
    """A form POST (CSRF checked) running ``build``'s change; ``done`` or ``refused`` answers."""

    async def endpoint(request: Request) -> Response:
        form = await checked_form(request)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(_run_change, request, form, build, done, refused)

    endpoint.__name__ = build.__name__
    return endpoint


def _run_change(request: Request, form: FormData, build: Build, done: Done, refused: Refused) -> Response:
    def prepare(call: PageCall) -> Response:
        require_admin(call)
        try:
            change = build(_posted(call, form))
            return change if isinstance(change, Response) else _Built(call, change)
        except MetaRefused as error:
            return refused(_posted(call, form), error)

    built = _run(prepare, request)
    if not isinstance(built, _Built) or built.change is None:
        return built
    try:
        result = apply_change(request.app.state.engine, built.change, built.context)
    except MetaRefused as error:
        return render_posted(request, form, lambda call: refused(call, error))
    return render_posted(request, form, lambda call: done(call, result))


def admin_page(handler: Callable[[PageCall], Response]) -> Callable[[PageCall], Response]:
    """``handler`` for administrators only (others get the 403 page)."""

    def page(call: PageCall) -> Response:
        require_admin(call)
        return handler(call)

    page.__name__ = handler.__name__
    page.__doc__ = handler.__doc__
    return page
