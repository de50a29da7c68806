"""What a list page (and its CSV export) shows: the reader's request resolved against the view it starts from.

A list starts from a *base*: one of the pack's list views, or a saved view of
the reader's (or a shared one).  The base gives the columns, a filter, a sort
and a search; the reader's own filter narrows it (both must hold), their sort
and search replace the base's, and ticked columns replace its columns.

The page's ``view`` parameter names the base: a pack view by its name
(``lead_all``), a saved view as ``saved-<id>`` — names are identifiers, so the
two never collide.

    >>> ListState.of({"view": "saved-3", "filter": "rating = 'hot'"}).params(offset=25)
    [('view', 'saved-3'), ('filter', "rating = 'hot'"), ('offset', '25')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field, ListView
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.queries import SYSTEM_FIELDS
from xrm.runtime.record_errors import NotFound
from xrm.runtime.saved_views import SavedView, get_view, views_for
from xrm.ui.page_calls import PageCall

SAVED_PREFIX = "saved-"
#: Columns shown when an entity has no list view: its first fields.
FALLBACK_COLUMNS = 6


@dataclass(frozen=True)
class ListState:
    """What the reader asked for, as given (the form shows it back)."""

    view: str | None
    q: str
    filter: str
    sort: str
    offset: int
    columns: tuple[str, ...] = ()

    @classmethod
    def of(cls, params: Any) -> ListState:
        """From query parameters (a Starlette ``QueryParams`` or, in doctests, a dict)."""
        raw_offset = params.get("offset", "")
        offset = int(raw_offset) if raw_offset.isascii() and raw_offset.isdigit() else 0
        columns = tuple(params.getlist("columns")) if hasattr(params, "getlist") else ()
        return cls(params.get("view") or None, params.get("q", "").strip(), params.get("filter", "").strip(),
                   params.get("sort", "").strip(), offset, tuple(c for c in columns if c))

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query parameters of this state with ``changes``, for links (empty ones left out)."""
        values = {"view": self.view, "q": self.q, "filter": self.filter, "sort": self.sort, "offset": self.offset,
                  "columns": self.columns, **changes}
        pairs: list[tuple[str, str]] = []
        for key, value in values.items():
            if isinstance(value, tuple | list):
                pairs.extend((key, str(v)) for v in value)
            elif value not in (None, "", 0):
                pairs.append((key, str(value)))
        return pairs


@dataclass(frozen=True)
class ListBase:
    """The view a list starts from."""

    key: str
    label: str
    columns: tuple[str, ...]
    filter: str | None
    sort: str
    search: str | None
    saved: SavedView | None = None


@dataclass(frozen=True)
class ViewOption:
    key: str
    label: str
    selected: bool


@dataclass(frozen=True)
class ViewGroup:
    label: str
    options: tuple[ViewOption, ...]


@dataclass(frozen=True)
class ColumnChoice:
    name: str
    label: str
    shown: bool


@dataclass(frozen=True)
class ResolvedList:
    """A list request ready for the query layer: the base, the columns to show, and the parts to combine."""

    base: ListBase | None
    columns: list[Field]
    own_filter: str
    sort: str
    search: str
    column_choices: tuple[ColumnChoice, ...] = field(default=())

    def filter_with(self, own: str | None) -> str | None:
        return both_filters(self.base.filter if self.base else None, own)


def entity_views(call: PageCall, entity: str) -> list[ListView]:
    """The pack's list views of ``entity``, the default first."""
    return sorted((v for v in call.model.catalog.views.values() if v.entity == entity),
                  key=lambda v: (not v.default, v.label.lower()))


def pick_view(views: list[ListView], name: str | None) -> ListView | None:
    chosen = next((v for v in views if v.name == name), None)
    return chosen or (views[0] if views else None)


def view_sort(view: ListView | None) -> str:
    return ",".join(("-" if k.descending else "") + k.field for k in view.sort) if view else ""


def both_filters(base: str | None, own: str | None) -> str | None:
    """Both filters must hold; each in parentheses, so ``or`` inside one stays inside."""
    parts = [text for text in (base, own) if text]
    if len(parts) < 2:
        return parts[0] if parts else None
    return "\n and ".join(f"({text})" for text in parts)


def combined_filter(view: ListView | None, own: str | None) -> str | None:
    """A pack view's filter and the reader's."""
    return both_filters(view.filter if view else None, own)


def field_of(entity: Entity, name: str) -> Field | None:
    return entity.field(name) or SYSTEM_FIELDS.get(name)


def readable_columns(entity: Entity, names: tuple[str, ...], access: EntityAccess) -> list[Field]:
    fields = [field_of(entity, n) for n in names if access.can_read_field(n)]
    return [f for f in fields if f is not None]


def view_columns(entity: Entity, view: ListView | None, access: EntityAccess) -> list[Field]:
    names = view.columns if view else tuple(f.name for f in entity.fields)[:FALLBACK_COLUMNS]
    return readable_columns(entity, names, access)


def saved_key(view: SavedView) -> str:
    """How the ``view`` parameter names a saved view."""
    return f"{SAVED_PREFIX}{view.id}"


def _pack_base(view: ListView | None) -> ListBase | None:
    if view is None:
        return None
    return ListBase(view.name, view.label, tuple(view.columns), view.filter, view_sort(view), None)


def _saved_base(saved: SavedView) -> ListBase:
    return ListBase(saved_key(saved), saved.name, saved.columns, saved.filter, saved.sort or "", saved.q,
                    saved)


def _saved_id(key: str | None) -> int | None:
    if key and key.startswith(SAVED_PREFIX):
        digits = key[len(SAVED_PREFIX):]
        return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else -1
    return None


def resolve_base(call: PageCall, entity: Entity, key: str | None) -> ListBase | None:
    """The base named ``key``: a saved view the reader may use, else a pack view (the default when unknown)."""
    saved_id = _saved_id(key)
    if saved_id is not None:
        try:
            saved = get_view(call.connection, call.context, saved_id)
        except NotFound:
            saved = None
        if saved is not None and saved.entity == entity.name:
            return _saved_base(saved)
    return _pack_base(pick_view(entity_views(call, entity.name), key))


def view_groups(call: PageCall, entity: Entity, selected: ListBase | None) -> tuple[ViewGroup, ...]:
    """The choices of the view menu: the pack's views, the reader's own, the shared ones."""
    key = selected.key if selected else None
    pack = tuple(ViewOption(v.name, v.label, v.name == key) for v in entity_views(call, entity.name))
    saved = views_for(call.connection, call.context, entity.name)
    mine = tuple(ViewOption(saved_key(v), v.name, saved_key(v) == key) for v in saved if v.mine(call.context))
    shared = tuple(ViewOption(saved_key(v), v.name, saved_key(v) == key)
                   for v in saved if v.shared and not v.mine(call.context))
    groups = [ViewGroup("Standard views", pack), ViewGroup("My views", mine), ViewGroup("Shared views", shared)]
    return tuple(g for g in groups if g.options)


def column_choices(entity: Entity, shown: list[Field], access: EntityAccess) -> tuple[ColumnChoice, ...]:
    """Every field the reader may see as a possible column (the shown ones first, in their order)."""
    shown_names = [f.name for f in shown]
    others = [f for f in entity.fields if f.name not in shown_names and access.can_read_field(f.name)
              and not f.hidden]
    system = [SYSTEM_FIELDS[n] for n in ("created_at", "updated_at", "owner_id") if n in SYSTEM_FIELDS
              and n not in shown_names]
    return (tuple(ColumnChoice(f.name, f.label, True) for f in shown)
            + tuple(ColumnChoice(f.name, f.label, False) for f in [*others, *system]))


def resolve_list(call: PageCall, entity: Entity, access: EntityAccess, state: ListState) -> ResolvedList:
    """The state resolved against its base; column names the reader may not see are dropped."""
    base = resolve_base(call, entity, state.view)
    if state.columns:
        columns = readable_columns(entity, state.columns, access)
    elif base is not None:
        columns = readable_columns(entity, base.columns, access)
    else:
        columns = view_columns(entity, None, access)
    columns = [c for c in columns if not c.hidden] or view_columns(entity, None, access)
    return ResolvedList(
        base=base, columns=columns, own_filter=state.filter, sort=state.sort or (base.sort if base else ""),
        search=state.q or (base.search or "" if base else ""),
        column_choices=column_choices(entity, columns, access),
    )


def sortable(field: Field) -> bool:
    return get_field_type(field.type).indexable
