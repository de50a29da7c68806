"""The OpenAPI description of the metadata changes (``meta_write``): administrators only, every refusal documented."""

from __future__ import annotations

from typing import Any

OBJECT = {"type": "object"}
PREVIEW = {"name": "preview", "in": "query", "schema": {"type": "boolean"},
           "description": "Check and apply the change, then roll it back: nothing changes"}
RESULT = {"type": "object", "properties": {
    "change": OBJECT, "preview": {"type": "boolean"}, "metadata_version": {"type": "integer"},
    "operations": {"type": "array", "items": OBJECT}, "warnings": {"type": "array", "items": OBJECT}}}
PLAN = {"type": "object", "description": "UpgradePlan.to_json(): fields, constraints, options, objects, rules, "
                                         "conflicts, problems, offending records, operations, ok"}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]


def _operation(path: str, operation_id: str, summary: str, body: bool | str = True) -> dict[str, Any]:
    item: dict[str, Any] = {
        "operationId": operation_id, "summary": summary, "tags": ["Customization"],
        "parameters": [*_path_parameters(path), PREVIEW],
        "responses": {
            "200": {"description": "The change, applied (or previewed)", "content": {"application/json": {"schema": RESULT}}},
            **{code: {"$ref": f"#/components/responses/E{code}"} for code in ("400", "401", "403", "404", "409", "415", "422")},
        },
    }
    if body:
        item["requestBody"] = {"required": body is True, "content": {"application/json": {"schema": OBJECT}}}
    return item


FIELD = "/api/meta/entities/{entity}/fields/{field}"
_CHANGES = [
    ("/api/meta/entities", "post", "createEntity", "Create a custom entity", True),
    ("/api/meta/entities/{entity}", "patch", "changeEntity",
     "Change an entity's label, description, display field or field order", True),
    ("/api/meta/entities/{entity}/fields", "post", "addField", "Add a field of any type", True),
    (FIELD, "patch", "changeField", "Change a field's properties (label, help text, hidden, required, unique, default…)", True),
    (FIELD, "delete", "removeField", "Remove a field softly: column and data kept", False),
    (FIELD + "/restore", "post", "restoreField", "Bring a removed field back with its data", "optional"),
    (FIELD + "/purge", "post", "purgeField", "Drop a removed field's column and data (confirm with its name)", True),
    (FIELD + "/options", "post", "addOption", "Add a picklist value", True),
    (FIELD + "/options", "put", "reorderOptions", "Order the picklist values", True),
    (FIELD + "/options/{value}", "patch", "changeOption", "Relabel, recolour, reorder or deactivate a picklist value", True),
    (FIELD + "/options/{value}", "delete", "removeOption", "Delete a picklist value administrators added and no record holds",
     False),
    ("/api/meta/roles/{role}/permissions/{entity}", "put", "grant", "Give a role a permission on an entity", True),
    ("/api/meta/roles/{role}/permissions/{entity}", "delete", "revoke", "Take a role's permission on an entity away", False),
]


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method, operation_id, summary, body in _CHANGES:
        paths.setdefault(path, {})[method] = _operation(path, operation_id, summary, body)
    for path, operation_id, summary in [
        ("/api/meta/entities/{entity}/customizations", "getCustomizations", "The admin overlay and removed fields of an entity"),
        ("/api/meta/history", "getSchemaHistory", "The schema history, newest first"),
        ("/api/meta/customizations", "listCustomizations", "Every admin overlay of entities and roles"),
        ("/api/meta/field-types", "listFieldTypes", "Field types and the properties each takes"),
    ]:
        paths[path] = {"get": {"operationId": operation_id, "summary": summary, "tags": ["Customization"],
                               "parameters": _path_parameters(path),
                               "responses": {"200": {"description": summary, "content": {"application/json": {"schema": OBJECT}}},
                                             **{c: {"$ref": f"#/components/responses/E{c}"} for c in ("401", "403", "404")}}}}
    for verb, summary in (("plan", "The plan of upgrading a pack to the version in a server folder; nothing changes"),
                          ("upgrade", "Upgrade a pack to the version in a server folder")):
        paths[f"/api/meta/packs/{verb}"] = {"post": {
            "operationId": f"{verb}PackUpgrade", "summary": summary, "tags": ["Customization"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}}}}},
            "responses": {"200": {"description": "The plan", "content": {"application/json": {"schema": PLAN}}},
                          **{c: {"$ref": f"#/components/responses/E{c}"} for c in ("400", "401", "403", "409", "415", "422")}}}}
    return paths


META_WRITE_PATHS: dict[str, Any] = _paths()
