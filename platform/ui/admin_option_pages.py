"""The picklist values of a field, on its admin page: add one, relabel, recolour, deactivate, reorder, delete.

A value records hold is never dropped: deleting is only for a value
administrators added and no record uses; any other is deactivated (kept on
the records, no longer offered).  A refusal names the records holding it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import RedirectResponse, Response

from xrm.metadata import admin_store
from xrm.metadata.customize import ChangeResult, MetaChange, MetaRefused
from xrm.metadata.model import Entity, Field
from xrm.ui.admin_entity_pages import customizable
from xrm.ui.admin_common import Input, change_endpoint, form_text, place_problems, with_errors
from xrm.ui.page_calls import PageCall

ADD_INPUTS = {"value": ("Value", "Stored in records: lowercase letters, digits and _."), "label": ("Label", None),
              "color": ("Colour (optional)", "Like #1f77b4.")}


@dataclass(frozen=True)
class OptionRow:
    value: str
    label: str
    color: str
    active: bool
    position: int
    form_id: str
    action: str
    remove_action: str | None  # only for a value administrators added to the field


def _base(call: PageCall) -> str:
    return f"/admin/entities/{call.param('entity')}/fields/{call.param('field')}/options"


def option_values(call: PageCall, entity: Entity, field: Field, error: MetaRefused | None) -> dict[str, Any] | None:
    """What the field page shows of the values (None for a field without a value list)."""
    if not field.options and field.type not in ("picklist", "multi_picklist"):
        return None
    base = _base(call)
    stored = admin_store.overlay(call.connection, "entity", entity.name)
    patch = ((stored.definition if stored else {}).get("fields") or {}).get(field.name) or {}
    added = {o["value"] for o in patch.get("added_options") or ()}  # the only values that can be deleted
    rows = [OptionRow(o.value, o.label, o.color or "", o.active, position, f"option-{o.value}", f"{base}/{o.value}",
                      f"{base}/{o.value}/remove" if o.value in added else None)
            for position, o in enumerate(sorted(field.options, key=lambda o: o.order), start=1)]
    posted = call.form is not None and "o-value" in call.form and error is not None
    inputs = [Input(f"o-{key}", f"o-{key}", label, value=form_text(call.form, f"o-{key}") if posted else "", hint=hint)
              for key, (label, hint) in ADD_INPUTS.items()]
    placed = place_problems(error, inputs, "option", ("o-",), entity.field_names.index(field.name))
    return {"rows": rows, "add_inputs": with_errors(inputs, placed), "add_action": base, "placed": placed,
            "order_action": f"{base}/order"}


def _field(call: PageCall) -> Field:
    field = customizable(call, call.param("entity")).field(call.param("field"))
    if field is None:
        raise MetaRefused(f"there is no field '{call.param('field')}'")
    return field


def _add(call: PageCall) -> MetaChange:
    values = {key: form_text(call.form, f"o-{key}") for key in ADD_INPUTS}
    return MetaChange("add_option", entity=call.param("entity"), field=call.param("field"),
                      values={k: v for k, v in values.items() if v})


def _update(call: PageCall) -> MetaChange | Response:
    option = _field(call).option(call.param("value"))
    posted = {"label": form_text(call.form, "label"), "color": form_text(call.form, "color") or None,
              "active": form_text(call.form, "active") == "true"}
    current = {"label": option.label, "color": option.color, "active": option.active} if option else {}
    changed = {k: v for k, v in posted.items() if current.get(k) != v}
    if not changed:
        return RedirectResponse(f"/admin/entities/{call.param('entity')}/fields/{call.param('field')}#values",
                                status_code=303)
    return MetaChange("update_option", entity=call.param("entity"), field=call.param("field"),
                      values={"value": call.param("value"), **changed})


def _remove(call: PageCall) -> MetaChange:
    return MetaChange("remove_option", entity=call.param("entity"), field=call.param("field"),
                      values={"value": call.param("value")})


def _reorder(call: PageCall) -> MetaChange:
    options = sorted(_field(call).options, key=lambda o: o.order)

    def rank(item: tuple[int, Any]) -> tuple[int, int]:
        text = form_text(call.form, f"position-{item[1].value}")
        return (int(text) if text.lstrip("-").isdigit() else item[0] + 1, item[0])

    return MetaChange("reorder_options", entity=call.param("entity"), field=call.param("field"),
                      values={"values": [o.value for _i, o in sorted(enumerate(options), key=rank)]})


def _back(call: PageCall, result: ChangeResult) -> Response:
    return RedirectResponse(f"/admin/entities/{result.change.entity}/fields/{result.change.field}#values",
                            status_code=303)


def _refused(call: PageCall, error: MetaRefused) -> Response:
    from xrm.ui.admin_field_pages import field_page

    return field_page(call, error, "options")


add_option = change_endpoint(_add, _back, _refused)
update_option = change_endpoint(_update, _back, _refused)
remove_option = change_endpoint(_remove, _back, _refused)
reorder_options = change_endpoint(_reorder, _back, _refused)
