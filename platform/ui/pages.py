"""Page views: each prepares plain data for its template (no logic in templates)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from xrm.metadata.catalog import Catalog
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.tables import entity_tables


@dataclass(frozen=True)
class EntityRow:
    name: str
    label: str
    plural_label: str
    description: str | None
    field_count: int
    record_count: int


@dataclass(frozen=True)
class PackSection:
    name: str
    label: str
    version: str
    description: str | None
    entities: tuple[EntityRow, ...]


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    type_label: str
    details: str
    required: bool
    unique: bool
    help_text: str | None
    #: The entity a lookup points to, linked from the page.
    target_name: str | None = None
    target_label: str | None = None


def _record_counts(request: Request, catalog: Catalog) -> dict[str, int]:
    tables = entity_tables(catalog.entities.values())
    with request.app.state.engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in tables.items()
        }


def home(request: Request) -> Response:
    catalog: Catalog = request.app.state.catalog.get()
    counts = _record_counts(request, catalog)
    sections = tuple(
        PackSection(
            name=pack.name, label=pack.label, version=pack.version, description=pack.description,
            entities=tuple(
                EntityRow(e.name, e.label, e.plural_label, e.description, len(e.fields), counts.get(e.name, 0))
                for e in sorted(catalog.entities.values(), key=lambda e: e.label)
                if e.pack == pack.name
            ),
        )
        for pack in catalog.packs.values()
    )
    return request.app.state.templates.TemplateResponse(request, "home.html", {"packs": sections})


def entity_detail(request: Request) -> Response:
    catalog: Catalog = request.app.state.catalog.get()
    entity = catalog.entities.get(request.path_params["entity"])
    if entity is None:
        raise HTTPException(404, "No such entity")
    rows = tuple(
        FieldRow(f.name, f.label, get_field_type(f.type).label, get_field_type(f.type).summary(f),
                 f.required, f.unique, f.help_text,
                 target_name=f.target if f.target in catalog.entities else None,
                 target_label=catalog.entities[f.target].label if f.target in catalog.entities else None)
        for f in entity.fields
    )
    views = tuple(v for v in catalog.views.values() if v.entity == entity.name)
    workflows = tuple(w for w in catalog.workflows.values() if w.entity == entity.name)
    pack = catalog.packs[entity.pack]
    return request.app.state.templates.TemplateResponse(
        request, "entity.html",
        {"entity": entity, "pack": pack, "fields": rows, "views": views, "workflows": workflows},
    )
