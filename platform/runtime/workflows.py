"""The workflow runtime: a pack's state machines, run through the one write path.

A workflow owns one picklist field of its entity.  That field never changes
through a plain update: new records start in the initial state and move only
by taking a transition, which checks (and reports, for every transition of
the current state) the caller's right to change the record, the transition's
roles, its guard expression and the fields it requires, then writes the new
state through ``RecordService`` as an audited "transition" change that write
hooks (the rules engine's transition trigger) see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from xrm.context import Context
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Transition, Workflow
from xrm.rules.expr import CheckedExpression, check_expression
from xrm.runtime import approvals
from xrm.runtime.record_constraints import check_version
from xrm.runtime.record_errors import Conflict, Forbidden, Invalid, NotFound
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService, is_empty
from xrm.system_tables import user_roles, users


@dataclass(frozen=True)
class Blocker:
    """Why a transition cannot be taken now: ``code`` is guard, role, required or not_permitted."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class TransitionOption:
    """A transition out of the record's current state, and whether the caller may take it now."""

    workflow: str
    name: str
    label: str
    source: str
    target: str
    blockers: tuple[Blocker, ...]

    @property
    def available(self) -> bool:
        return not self.blockers

    def as_json(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "name": self.name, "label": self.label, "from": self.source,
                "to": self.target, "available": self.available,
                "reasons": [{"code": b.code, "message": b.message, "field": b.field} for b in self.blockers]}


@dataclass(frozen=True)
class Taken:
    """The record after taking a transition, and the approval request when it waits for one."""

    record: dict[str, Any]
    approval: dict[str, Any] | None = None


def workflows_of(model: RecordModel, entity: str) -> tuple[Workflow, ...]:
    return tuple(w for w in model.catalog.workflows.values() if w.entity == entity)


def _guard(model: RecordModel, workflow: Workflow, transition: Transition) -> CheckedExpression | None:
    if not transition.guard:
        return None
    return model.memo(("guard", workflow.name, transition.name), lambda: check_expression(
        transition.guard or "", model.entity(workflow.entity), model.catalog.entities, expected="boolean"))


class WorkflowRuntime:
    """Lists and takes transitions for one metadata version, as one actor."""

    def __init__(self, service: RecordService) -> None:
        self.service = service
        self.model = service.model

    def options(self, connection: Connection, context: Context, entity: str, record_id: int) -> list[TransitionOption]:
        """Every transition out of the record's current state (in each of its workflows), with its blockers."""
        record = self._record(connection, context, entity, record_id)
        return [self._option(connection, context, workflow, transition, record, {})
                for workflow in workflows_of(self.model, entity)
                for transition in workflow.transitions if record.get(workflow.field) in transition.sources]

    def take(self, connection: Connection, context: Context, entity: str, record_id: int, name: str,
             values: Mapping[str, Any] | None = None, *, expected_version: int | None = None) -> Taken:
        """Take transition ``name``, setting ``values`` (e.g. the fields it requires) in the same change.

        When the transition needs an approval, the record stays (or moves to the
        approval's pending state) and ``Taken.approval`` is the open request.
        """
        values = dict(values or {})
        record = self._record(connection, context, entity, record_id)
        found = [(w, t) for w in workflows_of(self.model, entity) for t in w.transitions if t.name == name]
        if not found:
            raise NotFound(f"{self.model.entity(entity).label} has no transition '{name}'")
        workflow, transition = found[0]
        current = record.get(workflow.field)
        if current not in transition.sources:
            raise Conflict(f"'{transition.label or transition.name}' starts from {_states(workflow, transition.sources)}, "
                           f"but the record is {_state_label(workflow, current)}",
                           [FieldError(workflow.field, f"the record is {_state_label(workflow, current)}", "wrong_state")])
        if workflow.field in values:
            raise Invalid("the transition sets the state itself",
                          [FieldError(workflow.field, "leave the state out: the transition sets it", "workflow_field")])
        if not self.service.may_change(connection, context, entity, record_id, "update"):
            message = f"you may not change this {self.model.entity(entity).label.lower()}"
            raise Forbidden(message, [FieldError(None, message, "not_permitted")])
        coerced = self.service.preview(connection, context, entity, record, values)
        option = self._option(connection, context, workflow, transition, coerced, values)
        if option.blockers:
            errors = [FieldError(b.field, b.message, b.code) for b in option.blockers]
            forbidden = [b for b in option.blockers if b.code in ("role", "not_permitted")]
            if forbidden:
                raise Forbidden(forbidden[0].message, errors)
            if any(b.code == "pending_approval" for b in option.blockers):
                raise Conflict(option.blockers[0].message, errors)
            raise Invalid(f"'{transition.label or transition.name}' cannot be taken now", errors)
        if approvals.applies(self.service, connection, context, workflow, transition, coerced):
            check_version(self.model.entity(entity), record, expected_version)
            request = approvals.request(self.service, connection, context, workflow, transition, record_id, values)
            return Taken(self.service.get(connection, context, entity, record_id), request)
        prospective = {**coerced, workflow.field: transition.target}
        record = self.service.update(connection, context, entity, record_id, {**values, workflow.field: transition.target},
                                     expected_version=expected_version, transition=(workflow, transition),
                                     system_values=entry_values(self.service, connection, context, workflow,
                                                                transition.target, prospective))
        notify_entry(self.service, connection, context, workflow, transition.target, record_id)
        return Taken(record, None)

    # -- the checks -----------------------------------------------------------------------------

    def _record(self, connection: Connection, context: Context, entity: str, record_id: int) -> dict[str, Any]:
        """The full stored record (guards may read fields the caller cannot), after the caller's read check."""
        self.service.get(connection, context, entity, record_id)
        return self.service.stored_record(connection, entity, record_id)

    def _option(self, connection: Connection, context: Context, workflow: Workflow, transition: Transition,
                record: Mapping[str, Any], values: Mapping[str, Any]) -> TransitionOption:
        entity = self.model.entity(workflow.entity)
        access = self.service.access(context.actor, entity.name)
        blockers: list[Blocker] = []
        may_update = self.service.may_change(connection, context, entity.name, record["id"], "update")
        if not may_update:
            blockers.append(Blocker("not_permitted", f"you may not change this {entity.label.lower()}"))
        elif transition.roles and not context.actor.is_admin and not (context.actor.roles & set(transition.roles)):
            names = _either([self.model.catalog.roles[r].label if r in self.model.catalog.roles else r
                             for r in transition.roles])
            blockers.append(Blocker("role", f"only {names} may take this transition"))
        if approvals.pending_request(connection, entity.name, record["id"]) is not None:
            blockers.append(Blocker("pending_approval", f"this {entity.label.lower()} is waiting for an approval"))
        blockers += [Blocker(e.code, e.message, e.field)
                     for e in blockers_of(self.service, connection, context, workflow, transition, record, access)]
        current = record.get(workflow.field)
        return TransitionOption(workflow.name, transition.name, transition.label or transition.name,
                                str(current), transition.target, tuple(blockers))


def _state(workflow: Workflow, name: str) -> Any:
    return next((s for s in workflow.states if s.name == name), None)


def entry_values(service: RecordService, connection: Connection, context: Context, workflow: Workflow, state_name: str,
                 record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the state's ``on_enter`` sets, computed over the record as it enters the state.

    They are written in the transition's own change (with the platform's rights), so validation
    rules about the new state see them.
    """
    state = _state(workflow, state_name)
    if state is None or state.on_enter is None or not state.on_enter.set:
        return {}
    model = service.model
    entity = model.entity(workflow.entity)
    values = {}
    for name, source in state.on_enter.set:
        field = entity.field(name)
        checked = model.memo(("on_enter", workflow.name, state_name, name), lambda s=source, f=field: check_expression(
            s, entity, model.catalog.entities, expected=get_field_type(f.type).value_type_of(f)))
        expanded = service.expand_lookups(connection, entity, dict(record), checked.lookups)
        values[name] = checked.python(expanded, {"now": context.now})
    return values


def notify_entry(service: RecordService, connection: Connection, context: Context, workflow: Workflow,
                 state_name: str, record_id: int) -> None:
    """Tell the people the state's ``on_enter`` names that the record entered it."""
    state = _state(workflow, state_name)
    if state is None or state.on_enter is None or not state.on_enter.notify:
        return
    entity = service.model.entity(workflow.entity)
    record = service.stored_record(connection, entity.name, record_id)
    label = f"{entity.label} {record.get(entity.display_field) or '#' + str(record_id)}"
    message = state.on_enter.message or f"{label} is now '{state.label}'."
    for user_id in _recipients(connection, state.on_enter.notify, record):
        approvals.notify(service, connection, context, user_id, f"{label}: {state.label}", message, entity.name,
                         record_id)


def _recipients(connection: Connection, targets: tuple[str, ...], record: Mapping[str, Any]) -> list[int]:
    found: list[int] = []
    for target in targets:
        if target == "owner" and record.get("owner_id") is not None:
            found.append(record["owner_id"])
        elif target == "manager" and record.get("owner_id") is not None:
            manager = connection.execute(select(users.c.manager).where(users.c.id == record["owner_id"])).scalar()
            if manager is not None:
                found.append(manager)
        elif target.startswith("role:"):
            found += connection.execute(select(user_roles.c.user_id).where(
                user_roles.c.role == target.partition(":")[2]).order_by(user_roles.c.user_id)).scalars()
    return list(dict.fromkeys(found))


def blockers_of(service: RecordService, connection: Connection, context: Context, workflow: Workflow,
                transition: Transition, record: Mapping[str, Any], access: Any = None) -> list[FieldError]:
    """What the record lacks for the transition: its required fields, then its guard (roles aside)."""
    model = service.model
    entity = model.entity(workflow.entity)
    access = access or service.access(context.actor, entity.name)
    found: list[FieldError] = []
    for name in transition.requires:
        field = entity.field(name)
        if field is not None and is_empty(record.get(name)):
            visible = access.can_read_field(name)
            found.append(FieldError(name if visible else None, f"'{field.label}' must be filled in first" if visible
                                    else "a field you cannot see must be filled in first", "required"))
    guard = _guard(model, workflow, transition)
    if guard is not None:
        expanded = service.expand_lookups(connection, entity, dict(record), guard.lookups)
        if guard.python(expanded, {"now": context.now}) is not True:
            readable = all(service.access(context.actor, e).can_read_field(f) for e, f in guard.fields_used)
            found.append(FieldError(None, f"the condition is not met: {transition.guard}" if readable
                                    else "a condition on fields you cannot see is not met", "guard"))
    return found


def _either(names: list[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _state_label(workflow: Workflow, name: Any) -> str:
    state = next((s for s in workflow.states if s.name == name), None)
    return f"'{state.label}'" if state else ("in no state" if name is None else f"'{name}'")


def _states(workflow: Workflow, names: tuple[str, ...]) -> str:
    return " or ".join(_state_label(workflow, n) for n in names)
