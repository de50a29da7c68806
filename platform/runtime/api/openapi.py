"""The OpenAPI 3.1 document of the REST API, generated from the installed metadata.

Each entity gets three schemas (the record as read, the body of a create, the
body of a change) built from its fields' types: real JSON types and formats,
enums for picklists, the required fields, read-only computed fields.  Every
entity gets its own concrete paths, so a client generator sees typed
operations (``createLead``), and every operation lists its error responses.
"""

from __future__ import annotations

import copy
from typing import Any

from xrm.metadata.catalog import Catalog
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field
from xrm.runtime.api.meta_write_openapi import META_WRITE_PATHS

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ERROR_DESCRIPTIONS = {
    "400": "The request is malformed (body is not JSON, bad If-Match)",
    "401": "Not signed in: send 'Authorization: Bearer <token>'",
    "403": "The caller's roles do not allow this",
    "404": "No such record, or not one the caller may see",
    "409": "The change conflicts with other records (a unique value, records still pointing to this one)",
    "412": "The record changed since the version in If-Match",
    "413": "The body is too large",
    "415": "The body is not JSON",
    "422": "The record or the list parameters are not valid; 'errors' lists each problem",
}


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts null (OpenAPI 3.1 is JSON Schema 2020-12: a type list)."""
    schema = copy.deepcopy(schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _read_schema(field: Field) -> dict[str, Any]:
    """A stored value: as on input, but any option ever offered (retired options stay readable)."""
    schema = copy.deepcopy(get_field_type(field.type).json_schema(field))
    every_option = [o.value for o in field.options]
    if "enum" in schema and field.options:
        schema["enum"] = every_option
    if isinstance(schema.get("items"), dict) and "enum" in schema["items"] and field.options:
        schema["items"]["enum"] = every_option
    if field.read_only or get_field_type(field.type).computed:
        schema["readOnly"] = True
    return _described(field, _nullable(schema))


def _input_schema(field: Field, *, may_be_empty: bool) -> dict[str, Any]:
    schema = copy.deepcopy(get_field_type(field.type).json_schema(field))
    return _described(field, _nullable(schema) if may_be_empty else schema)


def _described(field: Field, schema: dict[str, Any]) -> dict[str, Any]:
    schema["title"] = field.label
    if field.help_text or field.description:
        schema["description"] = field.help_text or field.description
    return schema


def _writable(entity: Entity, workflow_fields: frozenset[str]) -> list[Field]:
    """Fields a client may send: not computed, not read-only, not a workflow's state (moved by transitions)."""
    return [f for f in entity.fields
            if not get_field_type(f.type).computed and not f.read_only and f.name not in workflow_fields]


SYSTEM_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer", "format": "int64", "readOnly": True},
    "version": {"type": "integer", "readOnly": True, "description": "Send it back in If-Match to change the record"},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "created_by": {"type": ["integer", "null"], "readOnly": True},
    "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_by": {"type": ["integer", "null"], "readOnly": True},
    "owner_id": {"type": ["integer", "null"], "description": "The user who owns the record"},
    "owner_queue_id": {"type": ["integer", "null"], "description": "The queue the record waits in, unclaimed"},
}
OWNER_INPUT = {"type": ["integer", "null"], "minimum": 1, "description": "The user who owns the record"}
QUEUE_INPUT = {"type": ["integer", "null"], "minimum": 1,
               "description": "Put the record in this queue (clears owner_id unless given too)"}


def entity_schemas(entity: Entity, workflow_fields: frozenset[str] = frozenset()) -> dict[str, Any]:
    name = _pascal(entity.name)
    record = {
        "type": "object", "title": entity.label,
        "properties": {**SYSTEM_PROPERTIES, **{f.name: _read_schema(f) for f in entity.fields}},
        "required": ["id", "version", "created_at", "updated_at"],
    }
    if entity.description:
        record["description"] = entity.description
    writable = _writable(entity, workflow_fields)
    required = [f.name for f in writable if f.required and f.default is None]
    create = {"type": "object", "additionalProperties": False, "properties": {
        **{f.name: _input_schema(f, may_be_empty=f.name not in required) for f in writable}, "owner_id": OWNER_INPUT,
        "owner_queue_id": QUEUE_INPUT}}
    if required:
        create["required"] = required
    change = {"type": "object", "additionalProperties": False,
              "properties": {**{f.name: _input_schema(f, may_be_empty=not f.required) for f in writable},
                             "owner_id": OWNER_INPUT, "owner_queue_id": QUEUE_INPUT,
                             "version": {"type": "integer", "description": "The version read (instead of If-Match)"}}}
    page = {
        "type": "object", "required": ["items", "total", "limit", "offset", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
            "total": {"type": ["integer", "null"]}, "limit": {"type": "integer"}, "offset": {"type": "integer"},
            "next_cursor": {"type": ["string", "null"]},
        },
    }
    return {name: record, f"{name}Create": create, f"{name}Change": change, f"{name}Page": page}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


LIST_PARAMETERS = [
    {"name": "filter", "in": "query", "schema": {"type": "string"},
     "description": "A condition in the expression language, e.g. status = 'new' and rating in ('hot', 'warm')"},
    {"name": "sort", "in": "query", "schema": {"type": "string"},
     "description": "Comma-separated fields; '-' before a field sorts it descending, e.g. -created_at,last_name"},
    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200},
     "description": "Quick search: text found anywhere in the entity's text fields (ignoring case)"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"},
     "description": "The next_cursor of the previous page (keyset paging; not with offset)"},
    {"name": "total", "in": "query", "schema": {"type": "boolean", "default": True},
     "description": "false skips counting the matching records"},
]
ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
IF_MATCH = {"name": "If-Match", "in": "header", "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,18}"?$'},
            "description": "The record's version as read (e.g. \"3\"); a stale version is refused with 412"}


def entity_paths(entity: Entity, catalog: Catalog) -> dict[str, Any]:
    name, ref = _pascal(entity.name), f"#/components/schemas/{_pascal(entity.name)}"
    plural = entity.plural_label
    base, item = f"/api/{entity.name}", f"/api/{entity.name}/{{id}}"
    paths: dict[str, Any] = {
        base: {
            "get": {"operationId": f"list{name}", "summary": f"List {plural.lower()}", "tags": [entity.label],
                    "parameters": LIST_PARAMETERS,
                    "responses": {"200": _json({"$ref": f"{ref}Page"}, f"A page of {plural.lower()}"),
                                  **_errors("401", "403", "404", "422")}},
            "post": {"operationId": f"create{name}", "summary": f"Create a {entity.label.lower()}",
                     "tags": [entity.label],
                     "requestBody": {"required": True,
                                     "content": {"application/json": {"schema": {"$ref": f"{ref}Create"}}}},
                     "responses": {"201": _json({"$ref": ref}, f"The new {entity.label.lower()}"),
                                   **_errors("400", "401", "403", "404", "409", "413", "415", "422")}},
        },
        item: {
            "parameters": [ID_PARAMETER],
            "get": {"operationId": f"get{name}", "summary": f"Read a {entity.label.lower()}", "tags": [entity.label],
                    "responses": {"200": _json({"$ref": ref}, f"The {entity.label.lower()}"),
                                  **_errors("401", "403", "404")}},
            "patch": {"operationId": f"update{name}", "summary": f"Change a {entity.label.lower()}",
                      "tags": [entity.label], "parameters": [IF_MATCH],
                      "requestBody": {"required": True,
                                      "content": {"application/json": {"schema": {"$ref": f"{ref}Change"}}}},
                      "responses": {"200": _json({"$ref": ref}, f"The changed {entity.label.lower()}"),
                                    **_errors("400", "401", "403", "404", "409", "412", "413", "415", "422")}},
            "delete": {"operationId": f"delete{name}", "summary": f"Delete a {entity.label.lower()}",
                       "tags": [entity.label], "parameters": [IF_MATCH],
                       "responses": {"204": {"description": "Deleted"},
                                     **_errors("400", "401", "403", "404", "409", "412")}},
        },
        f"{item}/timeline": {
            "parameters": [ID_PARAMETER],
            "get": {"operationId": f"timeline{name}", "summary": "The record's history, newest first",
                    "tags": [entity.label],
                    "responses": {"200": _json({"$ref": "#/components/schemas/Timeline"}, "Audit entries"),
                                  **_errors("401", "403", "404")}},
        },
        f"{item}/trace": {
            "parameters": [ID_PARAMETER],
            "get": {"operationId": f"trace{name}", "summary": "The rules' decisions on the record, oldest first",
                    "tags": [entity.label],
                    "parameters": [{"name": "fired", "in": "query", "schema": {"type": "boolean"},
                                    "description": "Only the rules that fired"}],
                    "responses": {"200": _json({"$ref": "#/components/schemas/Trace"}, "Decisions"),
                                  **_errors("401", "403", "404")}},
        },
        f"{item}/claim": {
            "parameters": [ID_PARAMETER],
            "post": {"operationId": f"claim{name}", "summary": "Take the record from a queue the caller is a member of",
                     "tags": [entity.label],
                     "responses": {"200": _json({"$ref": ref}, f"The claimed {entity.label.lower()}"),
                                   **_errors("401", "403", "404", "409")}},
        },
        f"{item}/related": {
            "parameters": [ID_PARAMETER],
            "get": {"operationId": f"related{name}", "summary": "Lookups of other entities pointing to the record",
                    "tags": [entity.label],
                    "responses": {"200": _json({"$ref": "#/components/schemas/RelatedLists"}, "Related lists"),
                                  **_errors("401", "403", "404")}},
        },
    }
    if any(w.entity == entity.name for w in catalog.workflows.values()):
        paths.update(_workflow_paths(entity, name, item))
    for other in catalog.entities.values():
        for field in other.fields:
            target = get_field_type(field.type).foreign_key_target(field)
            if target is None or target[0] != entity.name:
                continue
            paths[f"{item}/related/{other.name}/{field.name}"] = {
                "parameters": [ID_PARAMETER],
                "get": {"operationId": f"related{name}{_pascal(other.name)}By{_pascal(field.name)}",
                        "summary": f"{other.plural_label} whose '{field.label}' is this {entity.label.lower()}",
                        "tags": [entity.label], "parameters": LIST_PARAMETERS,
                        "responses": {"200": _json({"$ref": f"#/components/schemas/{_pascal(other.name)}Page"},
                                                   f"A page of {other.plural_label.lower()}"),
                                      **_errors("401", "403", "404", "422")}},
            }
    return paths


def _workflow_paths(entity: Entity, name: str, item: str) -> dict[str, Any]:
    """List and take workflow transitions (202 when the transition waits for an approval)."""
    record = {"$ref": f"#/components/schemas/{name}"}
    return {
        f"{item}/transitions": {
            "parameters": [ID_PARAMETER],
            "get": {"operationId": f"transitions{name}", "summary": "Transitions out of the current state, and why not",
                    "tags": [entity.label],
                    "responses": {"200": _json({"$ref": "#/components/schemas/TransitionOptions"}, "Transitions"),
                                  **_errors("401", "403", "404")}},
        },
        f"{item}/transitions/{{transition}}": {
            "parameters": [ID_PARAMETER, {"name": "transition", "in": "path", "required": True,
                                          "schema": {"type": "string"}}],
            "post": {"operationId": f"takeTransition{name}", "summary": "Take a transition", "tags": [entity.label],
                     "parameters": [IF_MATCH],
                     "requestBody": {"required": False, "content": {"application/json": {"schema": {
                         "type": "object", "additionalProperties": False,
                         "properties": {"values": {"type": "object"}, "version": {"type": "integer"}}}}}},
                     "responses": {"200": _json(record, f"The {entity.label.lower()} in its new state"),
                                   "202": _json({"type": "object", "required": ["approval", "record"],
                                                 "properties": {"approval": {"type": "object"}, "record": record}},
                                                "The transition waits for an approval"),
                                   **_errors("400", "401", "403", "404", "409", "412", "415", "422")}},
        },
    }


SHARED_SCHEMAS: dict[str, Any] = {
    "Trace": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
        "rule": {"type": "string"}, "pack": {"type": "string"}, "trigger": {"type": "string"},
        "fired": {"type": "boolean"}, "reason": {"type": ["string", "null"]}, "seen": {"type": "object"},
        "actions": {"type": "array", "items": {"type": "object"}}, "summary": {"type": "string"},
        "at": {"type": "string", "format": "date-time"}}}}}},
    "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail", "errors"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "current_version": {"type": "integer"},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "message", "code"],
                "properties": {"field": {"type": ["string", "null"]}, "message": {"type": "string"},
                               "code": {"type": "string"}},
            }},
        },
    },
    "Timeline": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["id", "action", "version", "actor", "source", "at", "changes"],
            "properties": {
                "id": {"type": "integer"}, "action": {"enum": ["create", "update", "delete", "transition", "approval"]},
                "version": {"type": "integer"}, "actor": {"type": "string"}, "actor_id": {"type": ["integer", "null"]},
                "source": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                "note": {"type": ["string", "null"]},
                "changes": {"type": "array", "items": {"type": "object", "required": ["field", "old", "new"],
                                                       "properties": {"field": {"type": "string"}, "old": {}, "new": {}}}},
            },
        }}},
    },
    "TransitionOptions": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["workflow", "name", "label", "from", "to", "available", "reasons"],
            "properties": {
                "workflow": {"type": "string"}, "name": {"type": "string"}, "label": {"type": "string"},
                "from": {"type": "string"}, "to": {"type": "string"}, "available": {"type": "boolean"},
                "reasons": {"type": "array", "items": {
                    "type": "object", "required": ["code", "message", "field"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "field": {"type": ["string", "null"]}}}},
            },
        }}},
    },
    "RelatedLists": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["entity", "field", "label", "count", "href"],
            "properties": {"entity": {"type": "string"}, "field": {"type": "string"}, "label": {"type": "string"},
                           "count": {"type": "integer"}, "href": {"type": "string"}},
        }}},
    },
}

META_PATHS: dict[str, Any] = {
    path: {"get": {"operationId": operation, "summary": summary, "tags": ["Metadata"],
                   **({"parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]}
                      if "{name}" in path else {}),
                   "responses": {"200": _json({"type": "object"}, summary), **_errors("401", "404")}}}
    for path, operation, summary in [
        ("/api/me", "me", "The signed-in user"),
        ("/api/meta/entities", "listEntities", "Entities the caller may read"),
        ("/api/meta/entities/{name}", "getEntity", "One entity with its fields as the caller sees them"),
        ("/api/meta/views", "listViews", "List views"),
        ("/api/meta/workflows", "listWorkflows", "Workflows"),
        ("/api/meta/roles", "listRoles", "Roles and their permissions"),
        ("/api/approvals", "listApprovals", "Open approval requests the caller may decide"),
    ]
}


_RULES_TEXT = {"type": "string", "description": "The text of a rule file"}
RULES_PATHS: dict[str, Any] = {
    "/api/rules/check": {"post": {
        "operationId": "checkRules", "summary": "Check rule text against the installed metadata", "tags": ["Rules"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["rules"],
            "properties": {"rules": _RULES_TEXT, "path": {"type": "string"}}}}}},
        "responses": {"200": _json({"type": "object", "properties": {
            "ok": {"type": "boolean"}, "problems": {"type": "array", "items": {"type": "object"}},
            "rules": {"type": "array", "items": {"type": "object"}}, "tests": {"type": "integer"}}},
            "Problems (each with line and column) and the rules that checked clean"),
            **_errors("400", "401", "403", "413", "415", "422")}}},
    "/api/rules/dry-run": {"post": {
        "operationId": "dryRunRules", "summary": "Which rules would fire for a sample record and event; nothing is written",
        "tags": ["Rules"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["entity"],
            "properties": {
                "entity": {"type": "string"}, "record": {"type": "object"}, "changes": {"type": "object"},
                "event": {"enum": ["created", "updated", "deleted", "transition"]},
                "transition": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                "wait_until": {"type": "string", "format": "date-time"}, "rules": _RULES_TEXT, "path": {"type": "string"},
            }}}}},
        "responses": {"200": _json({"type": "object", "properties": {
            "decisions": {"type": "array", "items": {"type": "object"}}, "record": {"type": ["object", "null"]},
            "timers": {"type": "array", "items": {"type": "object"}}, "error": {"type": ["object", "null"]}}},
            "The decisions, the record after, the timers left, or the error that refused the change"),
            **_errors("400", "401", "403", "413", "415", "422")}}},
}


def openapi_document(catalog: Catalog, *, server_url: str | None = None) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for ``catalog``."""
    schemas: dict[str, Any] = dict(SHARED_SCHEMAS)
    paths: dict[str, Any] = dict(META_PATHS)
    for entity in sorted(catalog.entities.values(), key=lambda e: e.name):
        workflow_fields = frozenset(w.field for w in catalog.workflows.values() if w.entity == entity.name)
        schemas.update(entity_schemas(entity, workflow_fields))
        paths.update(entity_paths(entity, catalog))
    packs = ", ".join(f"{p.name} {p.version}" for p in catalog.packs.values()) or "no packs"
    paths.update(RULES_PATHS)
    paths.update(META_WRITE_PATHS)
    for verb in ("approve", "reject"):
        paths[f"/api/approvals/{{id}}/{verb}"] = {"post": {
            "operationId": f"{verb}Approval", "summary": f"{verb.title()} an approval request", "tags": ["Approvals"],
            "parameters": [ID_PARAMETER],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": {"comment": {"type": "string"}}}}}},
            "responses": {"200": _json({"type": "object"}, "The decided request"),
                          **_errors("400", "401", "403", "404", "409", "415", "422")}}}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "XRM API", "version": "1",
                 "description": f"Records of every installed entity ({packs}). Errors are application/problem+json."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {f"E{code}": {"description": text, "content": {"application/problem+json": {"schema": PROBLEM_REF}}}
                          for code, text in ERROR_DESCRIPTIONS.items()},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token from 'xrm user token'"},
                "session": {"type": "apiKey", "in": "cookie", "name": "xrm_session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
