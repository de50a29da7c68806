"""``/admin/entities/{entity}/fields/...``: add a field of any registered type, edit one (labels, help text,
hidden, required, unique, default; the type of a field administrators added), remove it softly, restore it,
and purge it after a confirm page that says how many values go."""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, func, select, table
from starlette.responses import RedirectResponse, Response

from xrm.metadata import admin_store
from xrm.metadata.customize import ChangeResult, MetaChange, MetaRefused
from xrm.metadata.fieldtypes import field_type_names, get_field_type
from xrm.metadata.layers import field_document, is_admin_field, removed_fields
from xrm.metadata.model import Entity
from xrm.runtime.record_errors import NotFound
from xrm.ui.admin_common import (
    Input,
    Placed,
    admin_page,
    change_endpoint,
    form_text,
    place_problems,
    refusal_values,
    with_errors,
)
from xrm.ui.admin_entity_pages import customizable, entity_page
from xrm.ui.admin_field_inputs import (
    ADD_KEYS,
    COMMON,
    EDIT_KEYS,
    PREFIX,
    common_inputs,
    field_changes,
    new_field_document,
    type_choices,
    type_inputs,
)
from xrm.ui.admin_option_pages import option_values
from xrm.ui.page_calls import PageCall


def _base(entity: Entity) -> str:
    return f"/admin/entities/{entity.name}"


def _overlay(call: PageCall, entity: Entity) -> dict[str, Any]:
    stored = admin_store.overlay(call.connection, "entity", entity.name)
    return dict(stored.definition) if stored else {}


def current_field(call: PageCall, entity: Entity, name: str) -> tuple[dict[str, Any], bool]:
    """The field's effective document (pack and admin layer) and whether administrators added it."""
    base = admin_store.pack_document(call.connection, "entity", entity.name)
    overlay = _overlay(call, entity)
    document = field_document(base.definition if base else None, overlay, name)
    if document is None:
        raise NotFound(f"{entity.label} has no field '{name}'")
    return document, is_admin_field(overlay, name)


def _values(call: PageCall, keys: tuple[str, ...], current: dict[str, Any]) -> dict[str, Any]:
    """What the inputs show: the posted form after a refusal, else the stored field."""
    if call.form is None or "label" not in call.form:
        return current
    values: dict[str, Any] = {key: form_text(call.form, key) for key in keys}
    values.update({k: form_text(call.form, k) == "true" for k in keys if COMMON[k][1] == "checkbox"})
    values.update({k[len(PREFIX):]: form_text(call.form, k) for k in call.form if k.startswith(PREFIX)})
    values["type"] = form_text(call.form, "type") or current.get("type")
    return values


def _placed_page(call: PageCall, template: str, inputs: list[Input], error: MetaRefused | None,
                 values: dict[str, Any], placed: Placed | None = None, index: int | None = None) -> Response:
    """``index``: where the field is in its entity's document (a new one comes last)."""
    placed = placed or place_problems(error, inputs, "field", ("", PREFIX), index)
    return call.render(template, {"inputs": with_errors(inputs, placed), **refusal_values(error, placed), **values,
                                  "current_entity": None},  # an admin page, not the entity's own
                       status=error.status if error else 200)


# -- adding a field ----------------------------------------------------------------------------------


def _chosen_type(call: PageCall) -> str | None:
    name = form_text(call.form, "type") if call.form is not None else call.request.query_params.get("type", "")
    return name if name in field_type_names() else None


def new_field_page(call: PageCall, error: MetaRefused | None = None) -> Response:
    entity = customizable(call, call.param("entity"))
    chosen = _chosen_type(call)
    inputs: list[Input] = []
    if chosen:
        values = _values(call, ADD_KEYS, {"type": chosen})
        inputs = (common_inputs(ADD_KEYS[:2], values) + type_inputs(get_field_type(chosen), values, call.model.catalog)
                  + common_inputs(ADD_KEYS[2:], values))
    return _placed_page(call, "admin_field_new.html", inputs, error, {
        "entity": entity, "base": _base(entity), "types": type_choices(), "chosen": chosen,
        "chosen_label": get_field_type(chosen).label if chosen else None}, index=len(entity.fields))


new_field_form = admin_page(new_field_page)


def _add_field(call: PageCall) -> MetaChange:
    entity = customizable(call, call.param("entity"))
    chosen = _chosen_type(call)
    if chosen is None:
        raise NotFound("there is no such field type")
    return MetaChange("add_field", entity=entity.name, values=new_field_document(call.form, get_field_type(chosen)))


def _to_entity(call: PageCall, result: ChangeResult) -> Response:
    return RedirectResponse(f"/admin/entities/{result.change.entity}", status_code=303)


add_field = change_endpoint(_add_field, _to_entity, new_field_page)


# -- editing a field ---------------------------------------------------------------------------------


def field_page(call: PageCall, error: MetaRefused | None = None, scope: str = "field") -> Response:
    entity = customizable(call, call.param("entity"))
    current, admin_field = current_field(call, entity, call.param("field"))
    values = _values(call, EDIT_KEYS, current) if scope == "field" else current
    field_type = get_field_type(current["type"])
    shown_type = get_field_type(values["type"]) if values.get("type") in field_type_names() else field_type
    inputs = ([Input("f-type", "type", "Type", "select", shown_type.name, type_choices(field_type.name),
                     hint="Saving a new type shows its own properties if it needs some; a change the stored values "
                          "cannot take is refused, with the records in the way.")]
              if admin_field else [])
    inputs += common_inputs(EDIT_KEYS[:1], values)
    inputs += type_inputs(shown_type, values, call.model.catalog, editing=True) if admin_field else []
    inputs += common_inputs(EDIT_KEYS[1:], values)
    field = entity.field(current["name"])
    assert field is not None
    base = f"{_base(entity)}/fields/{field.name}"
    options = option_values(call, entity, field, error if scope != "field" else None)
    return _placed_page(call, "admin_field.html", inputs, error, {
        "entity": entity, "field": field, "type_label": field_type.label, "admin_field": admin_field,
        "base": base, "entity_href": _base(entity), "options": options},
        placed=options["placed"] if options and scope != "field" else None,
        index=entity.field_names.index(field.name))


field_form = admin_page(field_page)


def _update_field(call: PageCall) -> MetaChange | Response:
    """Only what the form changes (a property left as it was stays the pack's, so its next version can change it)."""
    entity = customizable(call, call.param("entity"))
    current, admin_field = current_field(call, entity, call.param("field"))
    changes = field_changes(call.form, current, admin_field=admin_field)
    if not changes:
        return RedirectResponse(f"{_base(entity)}/fields/{current['name']}", status_code=303)
    return MetaChange("update_field", entity=entity.name, field=current["name"], values=changes)


def _to_field(call: PageCall, result: ChangeResult) -> Response:
    return RedirectResponse(f"/admin/entities/{result.change.entity}/fields/{result.change.field}", status_code=303)


update_field = change_endpoint(_update_field, _to_field, field_page)


# -- removing, restoring, purging -----------------------------------------------------------------------


def _on_field(operation: str) -> Any:
    def build(call: PageCall) -> MetaChange:
        return MetaChange(operation, entity=call.param("entity"), field=call.param("field"))
    build.__name__ = operation
    return build


def _restore(call: PageCall) -> MetaChange:
    """Restore a removed field; ``optional`` when records made meanwhile have no value for a required one."""
    values = {"required": False} if form_text(call.form, "optional") == "true" else {}
    return MetaChange("restore_field", entity=call.param("entity"), field=call.param("field"), values=values)


remove_field = change_endpoint(_on_field("remove_field"), _to_entity, field_page)
restore_field = change_endpoint(_restore, _to_field,
                                lambda call, error: entity_page(call, error, "order"))


def purge_page(call: PageCall, error: MetaRefused | None = None) -> Response:
    """How many values purging the removed field deletes, and the name to type to confirm it."""
    entity = customizable(call, call.param("entity"))
    name = call.param("field")
    document = removed_fields(_overlay(call, entity)).get(name)
    if document is None:
        raise NotFound(f"'{name}' is not a removed field of {entity.label}")
    stored = table(entity.table_name, column(name))
    count = call.connection.execute(select(func.count()).select_from(stored)
                                    .where(stored.c[name].is_not(None))).scalar_one()
    confirm = Input("confirm", "confirm", f"Type {name} to confirm", value=form_text(call.form, "confirm"))
    return _placed_page(call, "admin_purge.html", [confirm], error, {
        "entity": entity, "name": name, "label": document.get("label") or name, "count": count,
        "action": f"{_base(entity)}/fields/{name}/purge", "entity_href": _base(entity)})


purge_form = admin_page(purge_page)


def _purge(call: PageCall) -> MetaChange:
    return MetaChange("purge_field", entity=call.param("entity"), field=call.param("field"),
                      values={"confirm": form_text(call.form, "confirm")})


purge_field = change_endpoint(_purge, _to_entity, purge_page)
