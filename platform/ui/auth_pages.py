"""Signing in and out of the browser session (a signed cookie holding the user id and a CSRF token)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from xrm.runtime.users import check_password


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form posts it back."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def _safe_next(target: str | None) -> str:
    """Only paths on this site: an open redirect would let a link send people elsewhere after signing in."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _render(request: Request, *, error: str | None = None, username: str = "", status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "login.html",
        {"csrf_token": csrf_token(request), "error": error, "username": username,
         "next": _safe_next(request.query_params.get("next"))},
        status_code=status,
    )


async def login_form(request: Request) -> Response:
    return _render(request)


async def login(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    if not secrets.compare_digest(str(form.get("csrf_token", "")), request.session.get("csrf", "") or "-"):
        return _render(request, error="The form expired. Please sign in again.", username=username, status=400)

    def verify():  # noqa: ANN202
        with request.app.state.engine.begin() as connection:
            return check_password(connection, username, password)

    actor = await run_in_threadpool(verify) if username and password else None
    if actor is None:
        return _render(request, error="The user name or password is not right.", username=username, status=401)
    request.session.clear()
    request.session.update({"user_id": actor.user_id, "csrf": secrets.token_urlsafe(32)})
    return RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)


async def logout(request: Request) -> Response:
    """Sign out: a POST carrying the session's CSRF token, so another site cannot sign people out."""
    form = await request.form()
    if not secrets.compare_digest(str(form.get("csrf_token", "")), request.session.get("csrf", "") or "-"):
        return PlainTextResponse("The sign-out form expired. Go back, reload the page and sign out again.", 400)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
