"""The plumbing every signed-in page shares: the sign-in check, one connection, the record layer, error pages.

A page is a plain function ``handler(call) -> Response`` run in a worker
thread, like an API endpoint (``xrm.runtime.api.calls``): the same record
service, queries and permissions answer, so a page never shows what the API
would refuse.  Signed-out visitors are sent to ``/login?next=<this page>``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from xrm.context import Context
from xrm.db import read_only
from xrm.runtime.record_errors import Forbidden, NotFound
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService
from xrm.runtime.users import actor_for_user
from xrm.ui.auth_pages import csrf_token
from xrm.ui.layout import layout_values


@dataclass(frozen=True)
class PageCall:
    """One page request of a signed-in user, with its connection and the record layer."""

    request: Request
    connection: Connection
    context: Context
    model: RecordModel
    service: RecordService
    #: the posted form of a POST page (None for GET pages)
    form: FormData | None = None

    def param(self, name: str) -> Any:
        return self.request.path_params[name]

    def wants_fragment(self, target: str) -> bool:
        """An htmx request for the region with id ``target`` (not a history restore: that needs the whole page)."""
        headers = self.request.headers
        return (headers.get("hx-request") == "true" and headers.get("hx-target") == target
                and "hx-history-restore-request" not in headers)

    def render(self, template: str, values: Mapping[str, Any], *, status: int = 200) -> Response:
        """A whole page: the layout's values (navigation, user, notifications) plus the page's own."""
        return self._respond(template, {**layout_values(self), **values}, status)

    def render_fragment(self, template: str, values: Mapping[str, Any]) -> Response:
        """A partial (``_name.html``) alone, for htmx to swap into the page."""
        return self._respond(template, dict(values), 200)

    def _respond(self, template: str, values: dict[str, Any], status: int) -> Response:
        values.setdefault("csrf_token", csrf_token(self.request))
        response = self.request.app.state.templates.TemplateResponse(self.request, template, values, status_code=status)
        response.headers["Vary"] = "HX-Request"  # the same URL answers a fragment or a page
        response.headers["Cache-Control"] = "no-store"  # pages hold records: never from a shared cache
        return response


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def page_endpoint(handler: Callable[[PageCall], Response]) -> Callable[[Request], Any]:
    """Wrap ``handler`` as a Starlette endpoint (see the module docstring)."""

    async def endpoint(request: Request) -> Response:
        if not isinstance(request.session.get("user_id"), int):
            return sign_in_redirect(request)
        return await run_in_threadpool(_run, handler, request)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def post_endpoint(handler: Callable[[PageCall], Response]) -> Callable[[Request], Any]:
    """Wrap ``handler`` as the endpoint of a form POST: the session's CSRF token checked, one write transaction.

    A ``RecordError`` the handler lets through rolls the transaction back; one it
    catches (to show the form again) was already undone by the service's savepoint.
    """

    async def endpoint(request: Request) -> Response:
        if not isinstance(request.session.get("user_id"), int):
            return sign_in_redirect(request)
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf_token", "")), request.session.get("csrf", "") or "-"):
            return PlainTextResponse("The form expired. Go back, reload the page and try again.", 403)
        return await run_in_threadpool(_run, handler, request, form)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _run(handler: Callable[[PageCall], Response], request: Request, form: FormData | None = None) -> Response:
    state = request.app.state
    with state.engine.begin() if form is not None else read_only(state.engine.connect()) as connection:
        actor = actor_for_user(connection, request.session["user_id"])
        if actor is None:  # deactivated since signing in
            request.session.clear()
            return sign_in_redirect(request)
        model = state.catalog.model_for(connection)
        call = PageCall(request, connection, Context(actor, "ui"), model, RecordService(model, state.write_hooks),
                        form)
        try:
            return handler(call)
        except NotFound as error:
            return call.render("error.html", {"title": "Not found", "message": error.detail}, status=404)
        except Forbidden as error:
            return call.render("error.html", {"title": "Not allowed", "message": error.detail}, status=403)
