"""The web application: wires routes, templates and static files together."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from xrm.runtime.catalog_cache import CatalogCache
from xrm.ui import pages

HERE = Path(__file__).resolve().parent


def create_app(engine: Engine) -> Starlette:
    """The Starlette app serving the installed packs of the database behind ``engine``."""
    templates = Jinja2Templates(directory=HERE / "templates")
    assert templates.env.autoescape, "templates must autoescape"
    app = Starlette(
        routes=[
            Route("/", pages.home, name="home"),
            Route("/entities/{entity}", pages.entity_detail, name="entity"),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
    )
    app.state.engine = engine
    app.state.catalog = CatalogCache(engine)
    app.state.templates = templates
    return app
