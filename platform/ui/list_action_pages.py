"""The list page's forms: save the current list as a view, delete a saved view, apply a bulk action.

Each is a plain form POST (CSRF-checked by ``post_endpoint``) that answers
with a redirect back to the list or with a small page of its own — the same
with or without JavaScript.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.responses import RedirectResponse, Response

from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.saved_views import delete_view, save_view
from xrm.ui.bulk_actions import BULK_ACTIONS, apply_bulk, chosen_ids
from xrm.ui.list_state import ListState, resolve_list, saved_key
from xrm.ui.page_calls import PageCall


def _back(call: PageCall, path: str) -> str:
    """Where the form came from, when it is a page of this list (never another site)."""
    target = str(call.form.get("return_to", "")) if call.form else ""
    parts = urlsplit(target)
    if not parts.scheme and not parts.netloc and (parts.path == path or parts.path.startswith(path + "?")):
        return target
    return path


def _readable_entity(call: PageCall, action: str = "read") -> Any:
    entity = call.model.entity(call.param("entity"))
    access = call.service.access(call.context.actor, entity.name)
    if not access.allows(action):
        raise Forbidden(f"you may not {action} {entity.plural_label.lower()}")
    return entity, access


def save_list_view(call: PageCall) -> Response:
    """Save what the list shows now (base view's filter and the reader's, sort, search, columns) under a name."""
    entity, access = _readable_entity(call)
    assert call.form is not None
    state = ListState.of(call.form)
    resolved = resolve_list(call, entity, access, state)
    path = f"/app/{entity.name}"
    try:
        saved = save_view(call.connection, call.model, call.context, entity.name, str(call.form.get("name", "")),
                          columns=[c.name for c in resolved.columns], filter=resolved.filter_with(state.filter),
                          sort=resolved.sort or None, q=resolved.search or None,
                          shared=call.form.get("shared") == "yes")
    except Invalid as error:
        messages = [e.message for e in error.errors] or [error.detail]
        return call.render("error.html", {"title": "The view was not saved", "message": "; ".join(messages),
                                          "back_href": _back(call, path)}, status=422)
    return RedirectResponse(f"{path}?{urlencode({'view': saved_key(saved)})}", status_code=303)


def delete_list_view(call: PageCall) -> Response:
    entity, _access = _readable_entity(call)
    delete_view(call.connection, call.context, int(call.param("view_id")))
    return RedirectResponse(f"/app/{entity.name}", status_code=303)


def bulk(call: PageCall) -> Response:
    """Apply the chosen bulk action to the ticked records (deleting asks to confirm first)."""
    entity, access = _readable_entity(call)
    assert call.form is not None
    form = call.form
    path = f"/app/{entity.name}"
    back = _back(call, path)
    action = BULK_ACTIONS.get(str(form.get("action", "")))
    ids = chosen_ids(form)
    problem = None
    if action is None or not action.available(entity, access):
        problem = "choose an action you may take"
    elif not ids:
        problem = f"tick the {entity.plural_label.lower()} first"
    else:
        problem = action.problem(form)
    if problem is not None or action is None:
        return call.render("error.html", {"title": "Nothing was changed", "message": problem, "back_href": back},
                           status=422)
    if action.confirm and form.get("confirm") != "yes":
        return call.render("bulk_confirm.html", {"entity": entity, "action": action, "ids": ids, "back_href": back,
                                                 "current_entity": entity.name})
    done, failures = apply_bulk(call, action, entity, ids, form)
    return call.render("bulk_result.html", {"entity": entity, "action": action, "done": done, "failures": failures,
                                            "back_href": back, "current_entity": entity.name})
