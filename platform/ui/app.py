"""The web application: wires the API, pages, sessions and static files together."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from xrm.runtime.api.routes import api_mount, http_error
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import WriteHook
from xrm.runtime.secret_key import secret_key
from xrm.ui import auth_pages, pages

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "xrm_session"


def create_app(engine: Engine, *, write_hooks: Sequence[WriteHook] = ()) -> Starlette:
    """The Starlette app serving the installed packs of the database behind ``engine`` (migrated already)."""
    templates = Jinja2Templates(directory=HERE / "templates")
    assert templates.env.autoescape, "templates must autoescape"
    app = Starlette(
        routes=[
            api_mount(),
            Route("/", pages.home, name="home"),
            Route("/login", auth_pages.login_form, methods=["GET"], name="login"),
            Route("/login", auth_pages.login, methods=["POST"]),
            Route("/logout", auth_pages.logout, methods=["POST"], name="logout"),
            Route("/entities/{entity}", pages.entity_detail, name="entity"),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key=secret_key(engine), session_cookie=SESSION_COOKIE,
                               same_site="lax", max_age=14 * 24 * 3600)],
        exception_handlers={HTTPException: http_error},
    )
    app.state.engine = engine
    app.state.catalog = CatalogCache(engine)
    app.state.templates = templates
    app.state.write_hooks = tuple(write_hooks)
    return app
