"""``/app/{entity}/board?field=<picklist>``: the entity's records as cards in one column per option of a picklist.

The cards come through ``ListQuery`` like the list page's rows (the reader's
scope, the chosen view's filter, ``q`` and ``filter``), at most ``CARDS`` per
column with a link to the rest in the list.  Each card carries a plain form
whose "Move to …" buttons post to ``/app/{entity}/board/move`` (see
``board_moves``) and come back to the board; ``static/board.js`` adds drag and
drop by posting the same form and swapping the board in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from xrm.metadata.model import Entity, Field
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.queries import SYSTEM_FIELDS, ListQuery, ListRequest
from xrm.runtime.record_errors import Forbidden, Invalid, NotFound
from xrm.runtime.workflows import workflows_of
from xrm.ui.board_moves import Move, Refused, board_fields, card_moves, move, option_label
from xrm.ui.display import Cell, Names, record_name
from xrm.ui.list_state import ListBase, both_filters, readable_columns, resolve_base, view_columns, view_groups
from xrm.ui.page_calls import PageCall

CARDS = 50
#: Fields a card shows besides its name and owner, from the view's columns.
CARD_FIELDS = 3
OWNER = SYSTEM_FIELDS["owner_id"]


@dataclass(frozen=True)
class CardField:
    label: str
    cell: Cell


@dataclass(frozen=True)
class Card:
    id: int
    title: str
    href: str
    version: int | None
    fields: tuple[CardField, ...]
    owner: Cell
    moves: tuple[Move, ...]

    @property
    def buttons(self) -> tuple[Move, ...]:
        return tuple(m for m in self.moves if m.form_href is None)

    @property
    def links(self) -> tuple[Move, ...]:
        return tuple(m for m in self.moves if m.form_href is not None)


@dataclass(frozen=True)
class BoardColumn:
    value: str
    label: str
    cards: tuple[Card, ...]
    total: int
    more_href: str | None

    @property
    def id(self) -> str:
        return f"column-{self.value or 'none'}"

    @property
    def rest(self) -> int:
        return self.total - len(self.cards)


@dataclass(frozen=True)
class BoardState:
    """What the reader asked for; every link and form of the board carries it."""

    field: str
    view: str | None
    q: str
    filter: str

    def query(self, **extra: Any) -> str:
        values = {"field": self.field, "view": self.view, "q": self.q, "filter": self.filter, **extra}
        return urlencode({k: v for k, v in values.items() if v})


def _literal(value: str) -> str:
    """An option value as a string of the expression language: ``it's`` → ``'it\\'s'``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _condition(field: Field, value: str) -> str:
    return f"{field.name} = {_literal(value)}" if value else f"{field.name} is empty"


def _entity(call: PageCall) -> tuple[Entity, EntityAccess, list[Field]]:
    entity = call.model.entity(call.param("entity"))
    access = call.service.access(call.context.actor, entity.name)
    if not access.allows("read"):
        raise Forbidden(f"you may not read {entity.plural_label.lower()}")
    fields = board_fields(entity, access, workflows_of(call.model, entity.name))
    if not fields:
        raise NotFound(f"{entity.plural_label.lower()} have no picklist to show as a board")
    return entity, access, fields


def _state(call: PageCall, fields: list[Field]) -> tuple[BoardState, Field]:
    params = call.request.query_params
    field = next((f for f in fields if f.name == params.get("field")), fields[0])
    return BoardState(field.name, params.get("view") or None, params.get("q", "").strip(),
                      params.get("filter", "").strip()), field


class _Board:
    """The columns of one board, built for one reader."""

    def __init__(self, call: PageCall, entity: Entity, access: EntityAccess, field: Field, state: BoardState) -> None:
        self.call, self.entity, self.access, self.field, self.state = call, entity, access, field, state
        self.base: ListBase | None = resolve_base(call, entity, state.view)
        columns = readable_columns(entity, self.base.columns, access) if self.base else view_columns(entity, None, access)
        shown = [f for f in columns if f.name not in {entity.display_field, field.name, "owner_id"}]
        self.card_fields = shown[:CARD_FIELDS]
        self.names = Names(call.connection, call.model, call.context.actor)

    def check(self) -> list[str]:
        """The problems of the reader's filter and search (the board shows no cards until they are fixed)."""
        try:
            ListQuery(self.call.model, self.call.context, self.entity.name,
                      ListRequest(filter=self.state.filter or None, search=self.state.q or None, with_total=False))
        except Invalid as error:
            return [p.message for p in error.errors] or [error.detail]
        return []

    def values(self) -> list[str]:
        values = [o.value for o in self.field.options if o.active]
        return values + [""]

    def column(self, value: str) -> BoardColumn | None:
        own = " and ".join(f"({part})" for part in (self.state.filter, _condition(self.field, value)) if part)
        base = self.base
        request = ListRequest(filter=both_filters(base.filter if base else None, own),
                              sort=(base.sort if base else "") or None,
                              search=self.state.q or (base.search if base else None) or None, limit=CARDS)
        page = ListQuery(self.call.model, self.call.context, self.entity.name, request).run(self.call.connection)
        total = page.total or 0
        if not value and not total and self.field.required:
            return None  # a required picklist is never empty: no column to drop onto
        self.names.want_rows([*self.card_fields, OWNER], page.items)
        cards = tuple(self._card(record) for record in page.items)
        more = None
        if total > len(cards):
            more = f"/app/{self.entity.name}?" + urlencode({k: v for k, v in {
                "view": self.state.view, "q": self.state.q, "filter": own}.items() if v})
        return BoardColumn(value, option_label(self.field, value), cards, total, more)

    def _card(self, record: dict[str, Any]) -> Card:
        return Card(record["id"], record_name(self.entity, record), f"/app/{self.entity.name}/{record['id']}",
                    record.get("version"),
                    tuple(CardField(f.label, self.names.cell(f, record.get(f.name))) for f in self.card_fields),
                    self.names.cell(OWNER, record.get("owner_id")),
                    card_moves(self.call, self.entity, self.field, self.access, record))


def _moved_message(columns: list[BoardColumn], moved: str) -> str | None:
    for column in columns:
        for card in column.cards:
            if str(card.id) == moved:
                return f"\u201c{card.title}\u201d is now in {column.label}."
    return None


def _render(call: PageCall, *, refused: Refused | None = None, status: int = 200) -> Response:
    entity, access, fields = _entity(call)
    state, field = _state(call, fields)
    board = _Board(call, entity, access, field, state)
    errors = board.check()
    columns = [] if errors else [c for c in (board.column(v) for v in board.values()) if c is not None]
    path = f"/app/{entity.name}"
    return call.render("board.html", {
        "entity": entity, "field": field, "state": state, "errors": errors, "columns": columns,
        "refused": refused, "moved": _moved_message(columns, call.request.query_params.get("moved", "")),
        "fields": [(f.name, f.label) for f in fields], "path": path,
        "list_href": f"{path}?" + BoardState("", state.view, state.q, state.filter).query(),
        "move_href": f"{path}/board/move?{state.query()}", "view_groups": view_groups(call, entity, board.base),
    }, status=status)


def board_page(call: PageCall) -> Response:
    """The board; ``?moved=<id>`` (after a move) says where the card went."""
    return _render(call)


def _number(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def move_card(call: PageCall) -> Response:
    """Move a card (a posted ``id``, ``version`` and target ``to``); back to the board, or the board with why not."""
    assert call.form is not None, "a POST page"
    entity, _access, fields = _entity(call)
    state, field = _state(call, fields)
    record_id = _number(call.form.get("id"))
    if record_id is None:
        return _render(call, refused=Refused("Choose a card to move.", 400), status=400)
    refused = move(call, entity, field, record_id, str(call.form.get("to", "")), _number(call.form.get("version")))
    if refused is not None:
        return _render(call, refused=refused, status=refused.status)
    return RedirectResponse(f"/app/{entity.name}/board?{state.query(moved=record_id)}", status_code=303)
