"""Moving a record between the columns of a board: which moves a card offers, and making one.

A board groups records by a picklist.  When that picklist is a workflow's
state, a move is the transition from the record's state to the target column
(guards, roles and required fields apply, exactly as on the record page);
otherwise it is a plain update of the field, holding the record's version so
a stale card cannot overwrite someone else's change.
"""

from __future__ import annotations

from dataclasses import dataclass

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field, Workflow
from xrm.runtime.permissions import EntityAccess
from xrm.runtime.record_errors import RecordError, StaleVersion
from xrm.runtime.workflows import TransitionOption, WorkflowRuntime, workflows_of
from xrm.ui.form_pages import STALE_MESSAGE
from xrm.ui.page_calls import PageCall
from xrm.ui.workflow_pages import fillable_fields

#: The field type a board groups by.
BOARD_TYPE = "picklist"


@dataclass(frozen=True)
class Move:
    """One column a card may move to: a button, or a link to the transition's form when it needs fields."""

    to: str
    label: str
    form_href: str | None = None


@dataclass(frozen=True)
class Refused:
    """Why a move did not happen, and where to fix it (a transition's required-fields form)."""

    message: str
    status: int = 409
    href: str | None = None
    link_text: str | None = None


def board_fields(entity: Entity, access: EntityAccess, workflows: tuple[Workflow, ...]) -> list[Field]:
    """The picklists a board may group by, the workflows' state fields first (e.g. opportunity stage)."""
    states = {w.field for w in workflows}
    found = [f for f in entity.fields if f.type == BOARD_TYPE and not f.hidden and access.can_read_field(f.name)]
    return sorted(found, key=lambda f: f.name not in states)


def state_workflow(call: PageCall, entity: Entity, field: Field) -> Workflow | None:
    return next((w for w in workflows_of(call.model, entity.name) if w.field == field.name), None)


def option_label(field: Field, value: str) -> str:
    return next((o.label for o in field.options if o.value == value), value) if value else "—"


def _needs_form(call: PageCall, entity: Entity, workflow: Workflow, option: TransitionOption) -> bool:
    transition = next(t for t in workflow.transitions if t.name == option.name)
    fillable = fillable_fields(call, entity, transition)
    return bool(option.blockers) and all(b.code == "required" and b.field in fillable for b in option.blockers)


def _options_to(call: PageCall, entity: Entity, workflow: Workflow, record_id: int) -> dict[str, TransitionOption]:
    """The best transition to each target state: one that can be taken now, else the first."""
    best: dict[str, TransitionOption] = {}
    for option in WorkflowRuntime(call.service).options(call.connection, call.context, entity.name, record_id):
        if option.workflow == workflow.name and (option.target not in best or
                                                 option.available and not best[option.target].available):
            best[option.target] = option
    return best


def _form_href(entity: Entity, record_id: int, option: TransitionOption) -> str:
    return f"/app/{entity.name}/{record_id}/transitions/{option.name}"


def card_moves(call: PageCall, entity: Entity, field: Field, access: EntityAccess, record: dict) -> tuple[Move, ...]:
    """The moves a card offers: only those that can happen (a blocked transition is left out)."""
    record_id, current = record["id"], record.get(field.name)
    workflow = state_workflow(call, entity, field)
    if workflow is not None:
        moves = []
        for target, option in _options_to(call, entity, workflow, record_id).items():
            if option.available:
                moves.append(Move(target, option_label(field, target)))
            elif _needs_form(call, entity, workflow, option):
                moves.append(Move(target, option_label(field, target), _form_href(entity, record_id, option)))
        order = [o.value for o in field.options]
        return tuple(sorted(moves, key=lambda m: order.index(m.to) if m.to in order else len(order)))
    if (get_field_type(field.type).computed or field.read_only or not access.can_edit_field(field.name)
            or not call.service.may_change(call.connection, call.context, entity.name, record_id, "update")):
        return ()
    targets = [o.value for o in field.options if o.active] + ([] if field.required else [""])
    return tuple(Move(value, option_label(field, value)) for value in targets if value != (current or ""))


def move(call: PageCall, entity: Entity, field: Field, record_id: int, to: str,
         version: int | None) -> Refused | None:
    """Move the record to column ``to``; None when it moved, else why not."""
    try:
        workflow = state_workflow(call, entity, field)
        if workflow is None:
            call.service.update(call.connection, call.context, entity.name, record_id, {field.name: to or None},
                                expected_version=version)
            return None
        return _take(call, entity, field, workflow, record_id, to, version)
    except StaleVersion:
        return Refused(STALE_MESSAGE)
    except RecordError as error:
        reasons = "; ".join(e.message for e in error.errors if e.message != error.detail)
        return Refused(error.detail + (f" ({reasons})" if reasons else ""), error.status)


def _take(call: PageCall, entity: Entity, field: Field, workflow: Workflow, record_id: int, to: str,
          version: int | None) -> Refused | None:
    option = _options_to(call, entity, workflow, record_id).get(to)
    if option is None:
        return Refused(f"No step of {workflow.label} moves this {entity.label.lower()} "
                       f"to {option_label(field, to)} from where it is now.")
    if _needs_form(call, entity, workflow, option):
        return Refused(f"\u201c{option.label}\u201d needs a few fields first: "
                       + "; ".join(b.message for b in option.blockers) + ".",
                       422, _form_href(entity, record_id, option), f"Fill them in for {option.label}")
    if not option.available:
        return Refused(f"\u201c{option.label}\u201d cannot be taken now: "
                       + "; ".join(b.message for b in option.blockers) + ".")
    WorkflowRuntime(call.service).take(call.connection, call.context, entity.name, record_id, option.name, {},
                                       expected_version=version)
    return None
