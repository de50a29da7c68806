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
from xrm.ui import admin_access_pages, admin_entity_pages, admin_field_pages, admin_option_pages, admin_pack_pages
from xrm.ui import auth_pages, dashboard_pages, dry_run_pages, form_pages, import_pages, list_action_pages, pages
from xrm.ui.board_pages import board_page, move_card
from xrm.ui.export_pages import export_csv
from xrm.ui.list_pages import list_page
from xrm.ui.lookup_search import lookup_suggestions
from xrm.ui.notification_pages import notifications_page
from xrm.ui.page_calls import page_endpoint, post_endpoint
from xrm.ui.record_pages import record_page
from xrm.ui.workflow_pages import take_transition, transition_form

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "xrm_session"
#: htmx as ``npm ci`` installs it from package.json (never copied into the repository).
HTMX_DIST = HERE.parent.parent / "node_modules" / "htmx.org" / "dist"
HTMX_PATH = "/static/vendor/htmx"


def _htmx_url(folder: Path) -> str | None:
    """Where pages load htmx from, or None when it is not installed (pages work without it)."""
    return f"{HTMX_PATH}/htmx.min.js" if (folder / "htmx.min.js").is_file() else None


def admin_routes() -> list[Route]:
    """The admin pages (``xrm.ui.admin_*``): administrators customize without code or restart."""
    e, f = "/admin/entities/{entity}", "/admin/entities/{entity}/fields/{field}"
    entities, fields, options = admin_entity_pages, admin_field_pages, admin_option_pages
    return [
        Route("/admin", page_endpoint(entities.customize_home), name="admin"),
        Route("/admin/entities/new", page_endpoint(entities.new_entity_form), methods=["GET"]),
        Route("/admin/entities/new", entities.create_entity, methods=["POST"]),
        Route(e, page_endpoint(entities.entity_form), methods=["GET"], name="admin_entity"),
        Route(e, entities.update_entity, methods=["POST"]),
        Route(e + "/order", entities.reorder_fields, methods=["POST"]),
        Route(e + "/fields/new", page_endpoint(fields.new_field_form), methods=["GET"]),
        Route(e + "/fields/new", fields.add_field, methods=["POST"]),
        Route(f, page_endpoint(fields.field_form), methods=["GET"], name="admin_field"),
        Route(f, fields.update_field, methods=["POST"]),
        Route(f + "/remove", fields.remove_field, methods=["POST"]),
        Route(f + "/restore", fields.restore_field, methods=["POST"]),
        Route(f + "/purge", page_endpoint(fields.purge_form), methods=["GET"]),
        Route(f + "/purge", fields.purge_field, methods=["POST"]),
        Route(f + "/options", options.add_option, methods=["POST"]),
        Route(f + "/options/order", options.reorder_options, methods=["POST"]),
        Route(f + "/options/{value}", options.update_option, methods=["POST"]),
        Route(f + "/options/{value}/remove", options.remove_option, methods=["POST"]),
        Route("/admin/access", page_endpoint(admin_access_pages.access_page), name="admin_access"),
        Route("/admin/access/edit", page_endpoint(admin_access_pages.grant_form), methods=["GET"]),
        Route("/admin/access/edit", admin_access_pages.grant, methods=["POST"]),
        Route("/admin/access/revoke", admin_access_pages.revoke, methods=["POST"]),
        Route("/admin/history", page_endpoint(admin_pack_pages.history_page), name="admin_history"),
        Route("/admin/packs", page_endpoint(admin_pack_pages.packs_page), methods=["GET"], name="admin_packs"),
        Route("/admin/packs/plan", admin_pack_pages.pack_endpoint(upgrade=False), methods=["POST"]),
        Route("/admin/packs/upgrade", admin_pack_pages.pack_endpoint(upgrade=True), methods=["POST"]),
    ]


def create_app(engine: Engine, *, write_hooks: Sequence[WriteHook] = (), htmx_dist: Path = HTMX_DIST) -> Starlette:
    """The Starlette app serving the installed packs of the database behind ``engine`` (migrated already)."""
    templates = Jinja2Templates(directory=HERE / "templates")
    assert templates.env.autoescape, "templates must autoescape"
    app = Starlette(
        routes=[
            api_mount(),
            Route("/", page_endpoint(pages.home), name="home"),
            Route("/login", auth_pages.login_form, methods=["GET"], name="login"),
            Route("/login", auth_pages.login, methods=["POST"]),
            Route("/logout", auth_pages.logout, methods=["POST"], name="logout"),
            Route("/notifications", page_endpoint(notifications_page), name="notifications"),
            Route("/dashboards", page_endpoint(dashboard_pages.dashboards_page), name="dashboards"),
            Route("/dashboards/{name}", page_endpoint(dashboard_pages.dashboard_page), name="dashboard"),
            Route("/dashboards/{name}/edit", page_endpoint(dashboard_pages.edit_dashboard_form), methods=["GET"],
                  name="dashboard_edit"),
            Route("/dashboards/{name}/edit", post_endpoint(dashboard_pages.save_dashboard), methods=["POST"]),
            Route("/dashboards/{name}/reset", post_endpoint(dashboard_pages.reset_dashboard_page), methods=["POST"],
                  name="dashboard_reset"),
            Route("/entities/{entity}", page_endpoint(pages.entity_detail), name="entity"),
            *admin_routes(),
            Route("/app/{entity}", page_endpoint(list_page), name="list"),
            Route("/rules/dry-run", page_endpoint(dry_run_pages.dry_run_form), methods=["GET"], name="dry_run"),
            Route("/rules/dry-run", post_endpoint(dry_run_pages.run_dry_run), methods=["POST"]),
            Route("/app/{entity}/board", page_endpoint(board_page), methods=["GET"], name="board"),
            Route("/app/{entity}/board/move", post_endpoint(move_card), methods=["POST"], name="board_move"),
            Route("/app/{entity}/views", post_endpoint(list_action_pages.save_list_view), methods=["POST"],
                  name="save_view"),
            Route("/app/{entity}/views/{view_id:int}/delete", post_endpoint(list_action_pages.delete_list_view),
                  methods=["POST"], name="delete_view"),
            Route("/app/{entity}/bulk", post_endpoint(list_action_pages.bulk), methods=["POST"], name="bulk"),
            Route("/app/{entity}/new", page_endpoint(form_pages.new_form), methods=["GET"], name="new"),
            Route("/app/{entity}/new", post_endpoint(form_pages.create), methods=["POST"]),
            Route("/app/{entity}/lookup/{field}", page_endpoint(lookup_suggestions), methods=["GET"], name="lookup"),
            Route("/app/{entity}/validate", post_endpoint(form_pages.validate), methods=["POST"], name="validate"),
            Route("/app/{entity}/export.csv", page_endpoint(export_csv), methods=["GET"], name="export"),
            Route("/app/{entity}/import", page_endpoint(import_pages.import_form), methods=["GET"], name="import"),
            Route("/app/{entity}/import", post_endpoint(import_pages.upload), methods=["POST"]),
            Route("/app/{entity}/import/{job:int}", page_endpoint(import_pages.job_page), methods=["GET"],
                  name="import_job"),
            Route("/app/{entity}/import/{job:int}", post_endpoint(import_pages.start), methods=["POST"]),
            Route("/app/{entity}/import/{job:int}/resume", post_endpoint(import_pages.resume), methods=["POST"],
                  name="import_resume"),
            Route("/app/{entity}/import/{job:int}/errors.csv", page_endpoint(import_pages.errors_csv),
                  methods=["GET"], name="import_errors"),
            Route("/app/{entity}/{id:int}", page_endpoint(record_page), name="record"),
            Route("/app/{entity}/{id:int}/edit", page_endpoint(form_pages.edit_form), methods=["GET"], name="edit"),
            Route("/app/{entity}/{id:int}/edit", post_endpoint(form_pages.update), methods=["POST"]),
            Route("/app/{entity}/{id:int}/transitions/{name}", page_endpoint(transition_form), methods=["GET"],
                  name="transition"),
            Route("/app/{entity}/{id:int}/transitions/{name}", post_endpoint(take_transition), methods=["POST"]),
            Mount(HTMX_PATH, StaticFiles(directory=htmx_dist, check_dir=False), name="htmx"),
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
    app.state.htmx_url = _htmx_url(htmx_dist)
    return app
