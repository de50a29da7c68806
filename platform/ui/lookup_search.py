"""Lookups with more records than a select can hold: a text box that takes a name or a record number.

The box shows the current record as ``Acme Corp (#12)``.  Without JavaScript a
person types a name (resolved when exactly one readable record has it) or a
number; with htmx, typing fetches suggestions from ``/app/{entity}/lookup/{field}``
into the box's ``<datalist>``, each in the same ``Name (#id)`` form.  Searches
go through ``ListQuery``, so they see only what the reader may read.

    >>> reference_id("Acme Corp (#12)"), reference_id(" 7 "), reference_id("Acme")
    ('12', '7', None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from xrm.metadata.model import Field
from xrm.runtime.permissions import entity_access
from xrm.runtime.queries import ListQuery, ListRequest
from xrm.runtime.record_errors import Forbidden, Invalid, NotFound
from xrm.ui.display import Names, is_empty
from xrm.ui.page_calls import PageCall

SUGGESTIONS = 20
_REFERENCE = re.compile(r"(?:.*\(#)?\s*([0-9]{1,18})\s*\)?\s*")


@dataclass(frozen=True)
class Suggestion:
    value: str


def reference_id(text: str) -> str | None:
    """The record number in ``Name (#12)`` or ``12``, else None."""
    match = _REFERENCE.fullmatch(text)
    return match.group(1) if match else None


def reference_text(name: str, record_id: Any) -> str:
    return f"{name} (#{record_id})"


def current_reference(call: PageCall, field: Field, value: Any) -> str:
    """What the box shows for a stored lookup value."""
    if is_empty(value):
        return ""
    names = Names(call.connection, call.model, call.context.actor)
    names.want(field, value)
    return reference_text(names.cell(field, value).text, value)


def _matches(call: PageCall, target: str, text: str, limit: int) -> list[tuple[int, str]]:
    """Readable records of ``target`` whose text fields hold ``text``, by their display name."""
    entity = call.model.entity(target)
    access = entity_access(call.model.catalog, call.context.actor, target)
    display = entity.display_field if access.can_read_field(entity.display_field) else None
    sort = display if display and entity.field(display) is not None else "id"
    try:
        query = ListQuery(call.model, call.context, target,
                          ListRequest(search=text, sort=sort, limit=limit, with_total=False))
    except Invalid:
        return []
    page = query.run(call.connection)
    return [(r["id"], str(r.get(display) or f"{entity.label} #{r['id']}") if display else f"{entity.label} #{r['id']}")
            for r in page.items]


def resolve_reference(call: PageCall, field: Field, text: str) -> str:
    """A posted box's value as the record service takes it: the id, or the text when it names no single record."""
    text = text.strip()
    if not text:
        return ""
    found = reference_id(text)
    if found is not None:
        return found
    target = call.model.target_of(field)
    if target is None:
        return text
    exact = [(i, n) for i, n in _matches(call, target, text, 2 * SUGGESTIONS) if n.strip().lower() == text.lower()]
    return str(exact[0][0]) if len(exact) == 1 else text


def lookup_suggestions(call: PageCall) -> Response:
    """The ``<datalist>`` of records matching what was typed in a lookup box (htmx swaps it in)."""
    entity = call.model.entity(call.param("entity"))
    field = entity.field(call.param("field"))
    access = call.service.access(call.context.actor, entity.name)
    if field is None or not access.can_read_field(field.name) or call.model.target_of(field) is None:
        raise NotFound(f"{entity.label} has no lookup '{call.param('field')}'")
    if not (access.allows("create") or access.allows("update")):
        raise Forbidden(f"you may not change {entity.plural_label.lower()}")
    text = str(call.request.query_params.get(field.name, "")).strip()
    target = call.model.target_of(field)
    assert target is not None
    found = _matches(call, target, text, SUGGESTIONS) if text and reference_id(text) is None else []
    options = [Suggestion(reference_text(name, record_id)) for record_id, name in found]
    return call.render_fragment("_lookup_options.html", {"id": f"f-{field.name}-options", "options": options})

