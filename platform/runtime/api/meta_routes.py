"""``/api/meta/...``: the installed metadata, read-only, as the caller may see it, and ``/api/me``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field, ListView, Workflow
from xrm.rules.expr import check_expression
from xrm.runtime.api.calls import Call, api_endpoint, json_response
from xrm.runtime.permissions import EntityAccess, permission_summary
from xrm.runtime.record_errors import NotFound


def _field_json(field: Field, access: EntityAccess) -> dict[str, Any]:
    field_type = get_field_type(field.type)
    data: dict[str, Any] = {
        "name": field.name, "type": field.type, "label": field.label, "required": field.required,
        "unique": field.unique or field_type.unique_by_nature, "computed": field_type.computed,
        "read_only": (field.read_only or field_type.computed or not access.allows("update")
                      or not access.can_edit_field(field.name)),
        "hidden": field.hidden, "schema": field_type.json_schema(field),
    }
    optional = {"help_text": field.help_text, "description": field.description, "default": field.default,
                "max_length": field.max_length, "precision": field.precision, "scale": field.scale,
                "currency_code": field.currency_code, "target": field.target, "on_delete": field.on_delete,
                "expression": field.expression, "returns": field.returns, "format": field.format}
    data.update({k: v for k, v in optional.items() if v is not None})
    if field.options:
        data["options"] = [{"value": o.value, "label": o.label, "color": o.color, "active": o.active}
                           for o in field.options]
    return data


def _entity_summary(entity: Entity, access: EntityAccess) -> dict[str, Any]:
    return {
        "name": entity.name, "label": entity.label, "plural_label": entity.plural_label, "pack": entity.pack,
        "description": entity.description, "display_field": entity.display_field,
        "permissions": {a: access.allows(a) for a in ("create", "read", "update", "delete")},
        "href": f"/api/meta/entities/{entity.name}",
    }


def _readable(call: Call) -> list[tuple[Entity, EntityAccess]]:
    pairs = [(e, call.service.access(call.context.actor, e.name)) for e in call.model.catalog.entities.values()]
    return [(e, a) for e, a in pairs if a.allows("read")]


def list_entities(call: Call) -> Response:
    return json_response({"items": [_entity_summary(e, a) for e, a in _readable(call)]})


def get_entity(call: Call) -> Response:
    name = call.param("name")
    entity = call.model.entity(name)
    access = call.service.access(call.context.actor, name)
    if not access.allows("read"):
        raise NotFound(f"there is no entity '{name}'")
    readable = access.can_read_field
    checks = {rule.name: checked for rule, checked in call.model.logic(name).validations}
    return json_response({
        **_entity_summary(entity, access),
        "fields": [_field_json(f, access) for f in entity.fields if readable(f.name)],
        "indexes": [{"name": i.name, "fields": list(i.fields), "unique": i.unique} for i in entity.indexes
                    if all(map(readable, i.fields))],
        "unique_together": [list(t) for t in entity.unique_together if all(map(readable, t))],
        # a rule reading a hidden field would name it (or reveal its value): such rules are left out
        "validations": [{"name": v.name, "check": v.check, "message": v.message, "fields": list(v.fields)}
                        for v in entity.validations
                        if all(map(readable, v.fields)) and _reads_only_visible(call, checks[v.name].fields_used)],
    })


def _reads_only_visible(call: Call, fields_used: frozenset[tuple[str, str]]) -> bool:
    for entity, field in fields_used:
        access = call.service.access(call.context.actor, entity)
        if not access.allows("read") or not access.can_read_field(field):
            return False
    return True


def _view_json(view: ListView) -> dict[str, Any]:
    return {"name": view.name, "entity": view.entity, "label": view.label, "columns": list(view.columns),
            "filter": view.filter, "sort": [{"field": k.field, "descending": k.descending} for k in view.sort],
            "default": view.default}


def _workflow_json(workflow: Workflow) -> dict[str, Any]:
    return {
        "name": workflow.name, "entity": workflow.entity, "field": workflow.field, "label": workflow.label,
        "initial": workflow.initial,
        "states": [{"name": s.name, "label": s.label, "final": s.final} for s in workflow.states],
        "transitions": [{"name": t.name, "label": t.label, "from": list(t.sources), "to": t.target, "guard": t.guard,
                         "roles": list(t.roles), "requires": list(t.requires)} for t in workflow.transitions],
    }


def _entity_filter(call: Call) -> set[str]:
    readable = {e.name for e, _ in _readable(call)}
    wanted = call.request.query_params.get("entity")
    return readable & {wanted} if wanted else readable


def list_views(call: Call) -> Response:
    """Views of the entities the caller may read; hidden columns and sort keys left out, and views whose
    filter reads a hidden field left out whole (they could not run for the caller anyway)."""
    entities = _entity_filter(call)
    items = []
    for view in call.model.catalog.views.values():
        if view.entity not in entities:
            continue
        access = call.service.access(call.context.actor, view.entity)
        if view.filter:
            checked = call.model.memo(("view_filter", view.name), lambda v=view: check_expression(
                v.filter or "", call.model.entity(v.entity), call.model.catalog.entities, expected="boolean"))
            if not _reads_only_visible(call, checked.fields_used):
                continue
        shown = replace(view, columns=tuple(c for c in view.columns if access.can_read_field(c)),
                        sort=tuple(k for k in view.sort if access.can_read_field(k.field)))
        items.append(_view_json(shown))
    return json_response({"items": items})


def list_workflows(call: Call) -> Response:
    entities = _entity_filter(call)
    workflows = [w for w in call.model.catalog.workflows.values() if w.entity in entities]
    return json_response({"items": [_workflow_json(w) for w in workflows]})


def list_roles(call: Call) -> Response:
    return json_response({"items": [
        {"name": r.name, "label": r.label, "description": r.description, "pack": call.model.catalog.owner("role", r.name),
         "permissions": [permission_summary(p) for p in r.permissions]}
        for r in call.model.catalog.roles.values()
    ]})


def me(call: Call) -> Response:
    actor = call.context.actor
    return json_response({"id": actor.user_id, "username": actor.name, "roles": sorted(actor.roles),
                          "is_admin": actor.is_admin})


def meta_routes() -> list[Route]:
    return [
        Route("/me", api_endpoint(me), methods=["GET"]),
        Route("/meta/entities", api_endpoint(list_entities), methods=["GET"]),
        Route("/meta/entities/{name}", api_endpoint(get_entity), methods=["GET"]),
        Route("/meta/views", api_endpoint(list_views), methods=["GET"]),
        Route("/meta/workflows", api_endpoint(list_workflows), methods=["GET"]),
        Route("/meta/roles", api_endpoint(list_roles), methods=["GET"]),
    ]
