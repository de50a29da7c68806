"""``/app/{entity}/new`` and ``/app/{entity}/{id}/edit``: create and edit forms, plus inline validation.

Plain form posts: a save that works answers 303 to the record page; one that
is refused shows the form again with every typed value and each message next
to its field.  With htmx, a changed field posts the form to
``/app/{entity}/validate``, which tries the save in a savepoint it always rolls
back and answers only that field's error box.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import RedirectResponse, Response

from xrm.metadata.model import Entity
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.record_errors import Forbidden, RecordError, StaleVersion
from xrm.runtime.record_logic import FieldError
from xrm.ui.display import record_name
from xrm.ui.form_conditions import form_conditions
from xrm.ui.form_model import build_form, editable_fields, error_links, field_errors, submitted, typed_values
from xrm.ui.page_calls import PageCall

STALE_MESSAGE = "Someone changed this record meanwhile; reload the page to see their changes, then make yours again."


def _access(call: PageCall, entity: Entity, action: str) -> EntityAccess:
    access = call.service.access(call.context.actor, entity.name)
    if not access.allows(action):  # type: ignore[arg-type]
        raise Forbidden(f"you may not {action} {entity.plural_label.lower()}")
    return access


def _page(call: PageCall, entity: Entity, access: EntityAccess, record: Mapping[str, Any], *,
          values: Mapping[str, Any] | None = None, errors: Mapping[str | None, list[str]] | None = None,
          record_id: int | None = None, status: int = 200) -> Response:
    errors = errors or {}
    posted = submitted(editable_fields(call, entity, access), call.form, call) if values is not None and call.form else None
    conditions = form_conditions(call, entity, record, posted)
    fields = build_form(call, entity, access, record, values, errors, conditions=conditions)
    editing = record_id is not None
    base = f"/app/{entity.name}"
    return call.render("form.html", {
        "entity": entity, "fields": fields, "errors": error_links(fields, errors),
        "title": f"Edit {record_name(entity, record)}" if editing else f"New {entity.label.lower()}",
        "action": f"{base}/{record_id}/edit" if editing else f"{base}/new",
        "cancel_href": f"{base}/{record_id}" if editing else base, "list_href": base,
        "validate_href": f"{base}/validate" + (f"?id={record_id}" if editing else ""),
        "lookup_href": f"{base}/lookup",
        "version": record.get("version") if values is None else (call.form or {}).get("version", ""),
        "conditions": conditions,
    }, status=status)


def _defaults(entity: Entity) -> dict[str, Any]:
    return {f.name: f.default for f in entity.fields if f.default is not None}


def new_form(call: PageCall) -> Response:
    """An empty form (the fields' defaults filled in)."""
    entity = call.model.entity(call.param("entity"))
    return _page(call, entity, _access(call, entity, "create"), _defaults(entity))


def edit_form(call: PageCall) -> Response:
    """The record's form, holding its version so a save cannot overwrite someone else's change unseen."""
    entity = call.model.entity(call.param("entity"))
    access = _access(call, entity, "update")
    record_id = call.param("id")
    record = call.service.get(call.connection, call.context, entity.name, record_id)
    if not call.service.may_change(call.connection, call.context, entity.name, record_id, "update"):
        raise Forbidden(f"you may not change this {entity.label.lower()}")
    return _page(call, entity, access, record, record_id=record_id)


def _refused(error: RecordError) -> dict[str | None, list[str]]:
    if isinstance(error, StaleVersion):
        return {None: [STALE_MESSAGE]}
    return field_errors(error.errors or [FieldError(None, error.detail, "refused")])


def create(call: PageCall) -> Response:
    entity = call.model.entity(call.param("entity"))
    access = _access(call, entity, "create")
    assert call.form is not None, "a POST page"
    fields = editable_fields(call, entity, access)
    try:
        record = call.service.create(call.connection, call.context, entity.name, submitted(fields, call.form, call))
    except Forbidden:
        raise
    except RecordError as error:
        return _page(call, entity, access, _defaults(entity), values=typed_values(fields, call.form),
                     errors=_refused(error), status=error.status)
    return RedirectResponse(f"/app/{entity.name}/{record['id']}", status_code=303)


def _number(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def update(call: PageCall) -> Response:
    entity = call.model.entity(call.param("entity"))
    access = _access(call, entity, "update")
    assert call.form is not None, "a POST page"
    record_id = call.param("id")
    fields = editable_fields(call, entity, access)
    try:
        call.service.update(call.connection, call.context, entity.name, record_id, submitted(fields, call.form, call),
                            expected_version=_number(call.form.get("version")))
    except Forbidden:
        raise
    except RecordError as error:
        record = call.service.get(call.connection, call.context, entity.name, record_id)
        return _page(call, entity, access, record, values=typed_values(fields, call.form), errors=_refused(error),
                     record_id=record_id, status=error.status)
    return RedirectResponse(f"/app/{entity.name}/{record_id}", status_code=303)


def _dry_run(call: PageCall, entity: Entity, values: Mapping[str, Any], record_id: int | None) -> list[FieldError]:
    """The problems a save would meet; the savepoint is always rolled back, so nothing is ever written."""
    with call.connection.begin_nested() as savepoint:
        try:
            if record_id is None:
                call.service.create(call.connection, call.context, entity.name, values)
            else:
                call.service.update(call.connection, call.context, entity.name, record_id, values)
            return []
        except RecordError as error:
            return list(error.errors)
        finally:
            savepoint.rollback()


def validate(call: PageCall) -> Response:
    """The error box of the field that changed (``HX-Trigger-Name``), as a save of the whole form would fill it."""
    entity = call.model.entity(call.param("entity"))
    creating = "id" not in call.request.query_params
    access = _access(call, entity, "create" if creating else "update")
    assert call.form is not None, "a POST page"
    name = call.request.headers.get("hx-trigger-name") or str(call.form.get("_field", ""))
    fields = editable_fields(call, entity, access)
    values = submitted(fields, call.form, call)
    record_id = None if creating else _number(call.request.query_params.get("id"))
    problems = _dry_run(call, entity, values, record_id)
    messages = [p.message for p in problems if p.field == name]
    current = {} if record_id is None else call.service.get(call.connection, call.context, entity.name, record_id)
    conditions = form_conditions(call, entity, current, values)
    return call.render_fragment("_validated.html", {"id": f"f-{name}-error", "messages": messages,
                                                    "conditions": conditions, "oob": True})
