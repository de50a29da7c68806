"""``/admin/access``: what each role may do with each entity, and ``/admin/access/edit?role=…&entity=…`` to grant
a role a whole permission on an entity (create, read, update, delete, scope, hidden and read-only fields) or
take it away.  A grant is in force on the next request of every user holding the role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from starlette.responses import RedirectResponse, Response

from xrm.metadata.customize import ChangeResult, MetaChange, MetaRefused
from xrm.metadata.model import EntityPermission, RecordScope, Role
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
from xrm.ui.admin_entity_pages import customizable
from xrm.ui.page_calls import PageCall

ACTIONS = {"create": "Create", "read": "Read", "update": "Update", "delete": "Delete"}
SCOPES = {"own": "Their own records", "team": "Their team's records", "all": "All records"}


@dataclass(frozen=True)
class GrantLine:
    entity: str
    actions: tuple[str, ...]
    scope: str
    hidden: int
    read_only: int
    href: str


@dataclass(frozen=True)
class RoleBlock:
    name: str
    label: str
    description: str | None
    grants: tuple[GrantLine, ...]


def _edit_href(role: str, entity: str) -> str:
    return f"/admin/access/edit?role={role}&entity={entity}"


@admin_page
def access_page(call: PageCall) -> Response:
    """Every role with its permissions, and a form to pick a role and an entity to change."""
    catalog = call.model.catalog
    blocks = []
    for role in sorted(catalog.roles.values(), key=lambda r: r.label.lower()):
        grants = tuple(GrantLine(catalog.entities[p.entity].plural_label, tuple(v for k, v in ACTIONS.items()
                                                                                 if getattr(p, k)),
                                 SCOPES[p.scope], len(p.hidden_fields), len(p.read_only_fields),
                                 _edit_href(role.name, p.entity))
                       for p in role.permissions if p.entity in catalog.entities)
        blocks.append(RoleBlock(role.name, role.label, role.description, grants))
    entities = sorted((e for e in catalog.entities.values() if e.pack != PLATFORM_PACK), key=lambda e: e.label.lower())
    return call.render("admin_access.html", {
        "roles": blocks, "role_choices": [(b.name, b.label) for b in blocks],
        "entity_choices": [(e.name, e.plural_label) for e in entities]})


def _role(call: PageCall, name: str) -> Role:
    role = call.model.catalog.roles.get(name)
    if role is None:
        raise NotFound(f"there is no role '{name}'")
    return role


def _target(call: PageCall) -> tuple[str, str]:
    source = call.form if call.form is not None else call.request.query_params
    return str(source.get("role", "")), str(source.get("entity", ""))


def grant_page(call: PageCall, error: MetaRefused | None = None) -> Response:
    role_name, entity_name = _target(call)
    role, entity = _role(call, role_name), customizable(call, entity_name)
    current = next((p for p in role.permissions if p.entity == entity.name), None) or EntityPermission(entity.name)
    posted = call.form is not None and error is not None
    fields = tuple((f.name, f.label) for f in entity.fields)

    def value(key: str) -> object:
        if key in ("hidden_fields", "read_only_fields"):
            return tuple(call.form.getlist(key)) if posted and call.form is not None else getattr(current, key)
        if key == "scope":
            return form_text(call.form, key) if posted else current.scope
        return form_text(call.form, key) == "true" if posted else getattr(current, key)

    inputs = [Input(f"g-{key}", key, f"{label} {entity.plural_label.lower()}", "checkbox", value(key))
              for key, label in ACTIONS.items()]
    inputs += [Input("g-scope", "scope", "Which records", "select", value("scope"),
                     tuple((s, SCOPES[s]) for s in get_args(RecordScope))),
               Input("g-hidden_fields", "hidden_fields", "Hidden fields", "checkboxes", value("hidden_fields"), fields,
                     wide=True),
               Input("g-read_only_fields", "read_only_fields", "Read-only fields", "checkboxes",
                     value("read_only_fields"), fields, wide=True)]
    placed = place_problems(error, inputs, "permission")
    granted = any(p.entity == entity.name for p in role.permissions)
    return call.render("admin_grant.html", {
        "role": role, "entity": entity, "inputs": with_errors(inputs, placed), "granted": granted,
        **refusal_values(error, placed)}, status=error.status if error else 200)


grant_form = admin_page(grant_page)


def _grant(call: PageCall) -> MetaChange:
    role, entity = _target(call)
    assert call.form is not None
    values: dict[str, object] = {key: form_text(call.form, key) == "true" for key in ACTIONS}
    values["scope"] = form_text(call.form, "scope") or "own"
    values.update({key: list(call.form.getlist(key)) for key in ("hidden_fields", "read_only_fields")})
    return MetaChange("grant", role=role, entity=entity, values=values)


def _revoke(call: PageCall) -> MetaChange:
    role, entity = _target(call)
    return MetaChange("revoke", role=role, entity=entity)


def _to_access(call: PageCall, result: ChangeResult) -> Response:
    return RedirectResponse(f"/admin/access#role-{result.change.role}", status_code=303)


grant = change_endpoint(_grant, _to_access, grant_page)
revoke = change_endpoint(_revoke, _to_access, grant_page)
