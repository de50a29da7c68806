"""The start page and the pages describing how an entity is set up (its fields, views and workflows)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from xrm.metadata.fieldtypes import get_field_type
from xrm.runtime.queries import ListQuery, ListRequest
from xrm.runtime.record_errors import Forbidden
from xrm.ui.layout import navigation
from xrm.ui.page_calls import PageCall


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


def _record_count(call: PageCall, entity: str) -> int:
    """How many of the entity's records the user may see (the list's own count, so scope applies)."""
    query = ListQuery(call.model, call.context, entity, ListRequest(with_total=False))
    return call.connection.execute(query.count_statement()).scalar_one()


def home(call: PageCall) -> Response:
    """The start page: each pack with the entities the user may read and how many of their records."""
    catalog = call.model.catalog
    sections = []
    for group in navigation(call.model, call.context.actor):
        pack = catalog.packs[group.name]
        sections.append(PackSection(
            name=pack.name, label=pack.label, version=pack.version, description=pack.description,
            entities=tuple(
                EntityRow(e.name, e.label, e.plural_label, e.description, len(e.fields), _record_count(call, e.name))
                for e in (catalog.entities[item.name] for item in group.entities)
            ),
        ))
    return call.render("home.html", {"packs": sections})


def entity_detail(call: PageCall) -> Response:
    """How an entity is set up: its fields, list views and workflows (for those who may read its records)."""
    catalog = call.model.catalog
    entity = call.model.entity(call.param("entity"))
    access = call.service.access(call.context.actor, entity.name)
    if not access.allows("read"):
        raise Forbidden(f"you may not read {entity.plural_label.lower()}")
    rows = tuple(
        FieldRow(f.name, f.label, get_field_type(f.type).label, get_field_type(f.type).summary(f),
                 f.required, f.unique, f.help_text,
                 target_name=f.target if f.target in catalog.entities else None,
                 target_label=catalog.entities[f.target].label if f.target in catalog.entities else None)
        for f in entity.fields if access.can_read_field(f.name)
    )
    views = tuple(v for v in catalog.views.values() if v.entity == entity.name)
    workflows = tuple(w for w in catalog.workflows.values() if w.entity == entity.name)
    pack = catalog.packs[entity.pack]
    return call.render("entity.html", {"entity": entity, "pack": pack, "fields": rows, "views": views,
                                       "workflows": workflows, "current_entity": entity.name})
