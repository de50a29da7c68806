"""``/admin`` (what administrators can customize), ``/admin/entities/new`` (a custom entity) and
``/admin/entities/{entity}`` (an entity's labels, display field, field order, fields and removed fields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import RedirectResponse, Response

from xrm.metadata import admin_store
from xrm.metadata.customize import ChangeResult, MetaChange, MetaRefused
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.layers import CUSTOM_PACK, is_admin_field, removed_fields
from xrm.metadata.model import Entity
from xrm.metadata.org_tables import PLATFORM_PACK
from xrm.runtime.record_errors import NotFound
from xrm.ui.admin_common import (
    Input,
    admin_page,
    change_endpoint,
    form_text,
    place_problems,
    refusal_values,
    with_errors,
)
from xrm.ui.page_calls import PageCall

NEW_ENTITY = {
    "name": ("Name", "Lowercase letters, digits and _, e.g. project; it names the table and the API path."),
    "label": ("Label", "One record, e.g. Project."),
    "plural_label": ("Plural label", "e.g. Projects; the label with an s when left empty."),
    "description": ("Description", None),
}
ENTITY_INPUTS = {"label": "Label", "plural_label": "Plural label", "description": "Description",
                 "display_field": "Display field"}


@dataclass(frozen=True)
class EntityLink:
    name: str
    label: str
    fields: int
    custom: bool
    href: str


@dataclass(frozen=True)
class PackGroup:
    label: str
    entities: tuple[EntityLink, ...]


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    type_label: str
    position: int
    tags: tuple[str, ...]
    href: str


@dataclass(frozen=True)
class RemovedRow:
    name: str
    label: str
    type_label: str
    restore_action: str
    purge_href: str


def customizable(call: PageCall, name: str) -> Entity:
    entity = call.model.catalog.entities.get(name)
    if entity is None or entity.pack == PLATFORM_PACK:
        raise NotFound(f"there is no entity '{name}' that administrators may change")
    return entity


@admin_page
def customize_home(call: PageCall) -> Response:
    """Every entity administrators may change, by pack, and the other admin pages."""
    catalog = call.model.catalog
    groups = []
    for pack in sorted(catalog.packs.values(), key=lambda p: (p.name == CUSTOM_PACK, p.label.lower())):
        entities = tuple(EntityLink(e.name, e.plural_label, len(e.fields), e.pack == CUSTOM_PACK,
                                    f"/admin/entities/{e.name}")
                         for e in sorted(catalog.entities.values(), key=lambda e: e.plural_label.lower())
                         if e.pack == pack.name != PLATFORM_PACK)
        if entities:
            groups.append(PackGroup(pack.label, entities))
    return call.render("admin_home.html", {"groups": groups})


# -- a custom entity -----------------------------------------------------------------------------


def _new_entity_inputs(call: PageCall) -> list[Input]:
    return [Input(f"e-{key}", key, label, value=form_text(call.form, key), hint=hint, wide=key == "description")
            for key, (label, hint) in NEW_ENTITY.items()]


def _new_entity_page(call: PageCall, error: MetaRefused | None = None) -> Response:
    inputs = _new_entity_inputs(call)
    placed = place_problems(error, inputs, "entity")
    return call.render("admin_entity_new.html", {"inputs": with_errors(inputs, placed), **refusal_values(error, placed)},
                       status=error.status if error else 200)


@admin_page
def new_entity_form(call: PageCall) -> Response:
    """The form of a custom entity: its name and labels (it starts with a required Name field)."""
    return _new_entity_page(call)


def _create_entity(call: PageCall) -> MetaChange:
    values = {key: form_text(call.form, key) for key in NEW_ENTITY if form_text(call.form, key)}
    values.setdefault("plural_label", values.get("label", "") + "s" if values.get("label") else "")
    return MetaChange("create_entity", values={k: v for k, v in values.items() if v})


def _to_entity(call: PageCall, result: ChangeResult) -> Response:
    return RedirectResponse(f"/admin/entities/{result.change.entity or result.change.values['name']}", status_code=303)


create_entity = change_endpoint(_create_entity, _to_entity, _new_entity_page)


# -- one entity ------------------------------------------------------------------------------------


def _entity_inputs(call: PageCall, entity: Entity) -> list[Input]:
    posted = call.form is not None and "label" in call.form
    current = {"label": entity.label, "plural_label": entity.plural_label, "description": entity.description or "",
               "display_field": entity.display_field}
    choices = tuple((f.name, f.label) for f in entity.fields if get_field_type(f.type).names_records or f.type == "text")
    return [Input(f"e-{key}", key, label, "select" if key == "display_field" else "text",
                  form_text(call.form, key) if posted else current[key],
                  choices if key == "display_field" else (), wide=key == "description")
            for key, label in ENTITY_INPUTS.items()]


def _field_rows(entity: Entity, overlay: dict[str, Any]) -> list[FieldRow]:
    rows = []
    for position, f in enumerate(entity.fields, start=1):
        tags = tuple(tag for tag, on in (("required", f.required), ("unique", f.unique), ("hidden", f.hidden),
                                         ("read-only", f.read_only), ("added here", is_admin_field(overlay, f.name)))
                     if on)
        rows.append(FieldRow(f.name, f.label, get_field_type(f.type).label, position, tags,
                             f"/admin/entities/{entity.name}/fields/{f.name}"))
    return rows


def _removed_rows(entity: Entity, overlay: dict[str, Any]) -> list[RemovedRow]:
    base = f"/admin/entities/{entity.name}/fields"
    return [RemovedRow(name, document.get("label") or name, get_field_type(document["type"]).label,
                       f"{base}/{name}/restore", f"{base}/{name}/purge")
            for name, document in removed_fields(overlay).items()]


def entity_page(call: PageCall, error: MetaRefused | None = None, scope: str = "entity") -> Response:
    entity = customizable(call, call.param("entity"))
    stored = admin_store.overlay(call.connection, "entity", entity.name)
    overlay = dict(stored.definition) if stored else {}
    inputs = _entity_inputs(call, entity)
    placed = place_problems(error, inputs if scope == "entity" else (), "entity")
    pack = call.model.catalog.packs.get(entity.pack)
    return call.render("admin_entity.html", {
        "entity": entity, "pack_label": pack.label if pack else entity.pack, "custom": entity.pack == CUSTOM_PACK,
        "inputs": with_errors(inputs, placed), "fields": _field_rows(entity, overlay),
        "removed": _removed_rows(entity, overlay), "base": f"/admin/entities/{entity.name}", "current_entity": None,
        **refusal_values(error, placed)}, status=error.status if error else 200)


entity_form = admin_page(entity_page)


def _update_entity(call: PageCall) -> MetaChange | Response:
    entity = customizable(call, call.param("entity"))
    current = {"label": entity.label, "plural_label": entity.plural_label, "description": entity.description,
               "display_field": entity.display_field}
    values = {key: form_text(call.form, key) or None for key in ENTITY_INPUTS}
    changed = {k: v for k, v in values.items() if v != current[k]}
    if not changed:
        return RedirectResponse(f"/admin/entities/{entity.name}", status_code=303)
    return MetaChange("update_entity", entity=entity.name, values=changed)


def _back_to_entity(call: PageCall, result: ChangeResult) -> Response:
    return RedirectResponse(f"/admin/entities/{result.change.entity}", status_code=303)


update_entity = change_endpoint(_update_entity, _back_to_entity, entity_page)


def _position(text: str, fallback: int) -> int:
    return int(text) if text.lstrip("-").isdigit() else fallback


def _reorder(call: PageCall) -> MetaChange:
    """Fields sorted by the posted positions (ties keep their current order)."""
    entity = customizable(call, call.param("entity"))
    ranked = sorted(enumerate(entity.fields), key=lambda item: (
        _position(form_text(call.form, f"position-{item[1].name}"), item[0] + 1), item[0]))
    return MetaChange("update_entity", entity=entity.name, values={"order": [f.name for _i, f in ranked]})


reorder_fields = change_endpoint(_reorder, _back_to_entity, lambda call, error: entity_page(call, error, "order"))
