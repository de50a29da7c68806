"""Bulk actions on the records ticked in a list: assign them to someone, delete them.

Each action is one class registered in ``BULK_ACTIONS``; the list page offers
those the reader's role allows, and ``apply_bulk`` runs the chosen one record
by record through the record service — each write in its own savepoint, so one
refused record (out of scope, a rule says no) is reported and the others go on.
Deleting asks for a confirmation first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import FormData

from xrm.metadata.model import Entity
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.record_errors import RecordError
from xrm.ui.form_fields import Choice, Choices
from xrm.ui.page_calls import PageCall

#: At most this many records in one bulk action (a page shows 25).
MAX_BULK = 200


@dataclass(frozen=True)
class BulkOption:
    """An action the list offers, with the choices it needs (the new owner)."""

    key: str
    label: str
    choices: tuple[Choice, ...] = ()
    confirm: bool = False


@dataclass(frozen=True)
class BulkFailure:
    record_id: int
    message: str


class BulkAction:
    key: str
    label: str
    #: what the result page says was done to each record ("assigned", "deleted")
    done: str
    confirm = False

    def available(self, entity: Entity, access: EntityAccess) -> bool:
        raise NotImplementedError

    def option(self, call: PageCall, entity: Entity) -> BulkOption:
        return BulkOption(self.key, self.label, confirm=self.confirm)

    def problem(self, form: FormData) -> str | None:
        """What is missing from the form, or None."""
        return None

    def apply(self, call: PageCall, entity: Entity, record_id: int, form: FormData) -> None:
        raise NotImplementedError


class AssignOwner(BulkAction):
    key, label, done = "assign", "Assign to", "assigned"

    def available(self, entity: Entity, access: EntityAccess) -> bool:
        return access.allows("update") and access.can_edit_field("owner_id")

    def option(self, call: PageCall, entity: Entity) -> BulkOption:
        chooser = Choices(call.connection, call.model, call.context.actor)
        return BulkOption(self.key, self.label, chooser.users(None, None) or ())  # type: ignore[arg-type]

    def problem(self, form: FormData) -> str | None:
        return None if str(form.get("owner", "")).isdigit() else "choose the person to assign the records to"

    def apply(self, call: PageCall, entity: Entity, record_id: int, form: FormData) -> None:
        call.service.update(call.connection, call.context, entity.name, record_id, {"owner_id": int(form["owner"])})


class DeleteRecords(BulkAction):
    key, label, done, confirm = "delete", "Delete", "deleted", True

    def available(self, entity: Entity, access: EntityAccess) -> bool:
        return access.allows("delete")

    def apply(self, call: PageCall, entity: Entity, record_id: int, form: FormData) -> None:
        call.service.delete(call.connection, call.context, entity.name, record_id)


BULK_ACTIONS: dict[str, BulkAction] = {}


def register_bulk_action(action: BulkAction) -> BulkAction:
    assert action.key not in BULK_ACTIONS, f"bulk action {action.key!r} is registered already"
    BULK_ACTIONS[action.key] = action
    return action


register_bulk_action(AssignOwner())
register_bulk_action(DeleteRecords())


def bulk_actions(call: PageCall, entity: Entity, access: EntityAccess) -> tuple[BulkOption, ...]:
    """The bulk actions the reader may take on the entity's records."""
    return tuple(a.option(call, entity) for a in BULK_ACTIONS.values() if a.available(entity, access))


def chosen_ids(form: FormData) -> list[int]:
    """The ticked record ids, in order, each once (anything else posted as an id is ignored)."""
    seen: dict[int, None] = {}
    for raw in form.getlist("ids"):
        text = str(raw)
        if text.isascii() and text.isdigit() and len(text) < 19:
            seen.setdefault(int(text), None)
    return list(seen)[:MAX_BULK]


def apply_bulk(call: PageCall, action: BulkAction, entity: Entity, ids: Sequence[int],
               form: FormData) -> tuple[int, list[BulkFailure]]:
    """Apply ``action`` to each record; returns how many succeeded and why the others did not."""
    failures: list[BulkFailure] = []
    for record_id in ids:
        try:
            action.apply(call, entity, record_id, form)
        except RecordError as error:
            failures.append(BulkFailure(record_id, str(error)))
    return len(ids) - len(failures), failures
