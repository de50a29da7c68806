"""The record service: the one write path every channel (API, UI, import, rules) goes through.

``create`` / ``update`` / ``delete`` run, inside the caller's transaction:
permission check → coerce input by field type → defaults and formulas →
required fields, field constraints and validation rules (every error at once)
→ rules (``xrm.rules.engine``: record actions, then formulas and checks again)
→ write hooks → unique checks → write (with the version check) → audit →
after-write hooks → the rules' effects, decision trace and timers.  Any refusal raises a
``RecordError`` before or during the write, so the caller's rollback leaves
nothing half-written.  Reads (``get``) apply the same record scope and hide
the same fields as the queries in ``xrm.runtime.queries``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from xrm.context import Actor, Context
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Transition, Workflow
from xrm.rules.engine import Pending, RulesEngine
from xrm.runtime.audit import changed_fields, record_change
from xrm.runtime.org_records import OrgChecks
from xrm.runtime.lookup_expansion import expand_lookups
from xrm.runtime.permissions import Action, EntityAccess, entity_access, scope_condition
from xrm.runtime.record_constraints import assign_autonumbers, check_unique, check_version
from xrm.runtime.record_errors import Conflict, Forbidden, Invalid, NotFound, StaleVersion
from xrm.runtime.record_hooks import RecordChange, WriteHook
from xrm.runtime.record_input import STATE_SETTING_SOURCES, coerce_input, count_text
from xrm.runtime.record_logic import (
    FieldError,
    apply_defaults,
    apply_formulas,
    conditionally_required_errors,
    is_empty,
    validation_errors,
)
from xrm.runtime.record_model import RecordModel
from xrm.runtime.record_references import check_restrict, missing_references

Record = dict[str, Any]
#: Changes made by the platform itself while carrying out a delete (cascades, clearing references).
_CASCADE_NOTE = "{verb} because {entity} #{id} was deleted"


#: Channels whose new records nobody was named for stay unowned until the rules ran ("owner_id is empty"),
#: so assignment rules route them (as an API or import create does in Salesforce); a person creating a
#: record in the UI owns it.  When no rule assigns it, the creator owns it after all.
ROUTED_SOURCES = frozenset({"api", "import", "system", "rule", "scheduler", "cli"})

#: Write hooks every record service runs.
PLATFORM_HOOKS: tuple[WriteHook, ...] = (OrgChecks(),)


def atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a write in a savepoint: a refusal undoes just this write, even when the caller goes on
    (an import skipping a bad row) — and on PostgreSQL the transaction stays usable."""

    @functools.wraps(method)
    def wrapper(self: RecordService, connection: Connection, *args: Any, **kwargs: Any) -> Any:
        with connection.begin_nested():
            return method(self, connection, *args, **kwargs)

    return wrapper


class RecordService:
    """Create, read, update and delete records of any entity of ``model``, as ``context.actor``."""

    def __init__(self, model: RecordModel, hooks: Sequence[WriteHook] = ()) -> None:
        self.model = model
        #: the platform's own checks first, then what plugs in (the rules engine, timers)
        self.hooks: tuple[WriteHook, ...] = (*PLATFORM_HOOKS, *hooks)
        self.rules = RulesEngine(self)

    # -- access -------------------------------------------------------------------------------

    def access(self, actor: Actor, entity: str) -> EntityAccess:
        return entity_access(self.model.catalog, actor, entity)

    def _require(self, context: Context, entity: Entity, action: Action) -> EntityAccess:
        access = self.access(context.actor, entity.name)
        if not access.allows(action):
            raise Forbidden(f"you may not {action} {entity.plural_label.lower()}")
        return access

    def visible(self, access: EntityAccess, row: Mapping[str, Any]) -> Record:
        """The record without the fields the reader may not see."""
        return {name: value for name, value in row.items() if access.can_read_field(name)}

    # -- reading ------------------------------------------------------------------------------

    def get(self, connection: Connection, context: Context, entity_name: str, record_id: Any) -> Record:
        """The record, as the actor may see it; ``NotFound`` also when it is outside the actor's scope."""
        entity = self.model.entity(entity_name)
        access = self._require(context, entity, "read")
        row = self._load(connection, entity, record_id, scope=access.read, actor=context.actor)
        if row is None:
            raise NotFound(f"there is no {entity.label.lower()} with id {record_id}")
        return self.visible(access, row)

    def stored_record(self, connection: Connection, entity_name: str, record_id: int, *,
                      for_update: bool = False) -> Record:
        """The whole stored row, whoever may see it: for the platform's own checks (guards), never for output."""
        entity = self.model.entity(entity_name)
        row = self._load(connection, entity, record_id, scope="all", actor=Actor.system(), for_update=for_update)
        if row is None:
            raise NotFound(f"there is no {entity.label.lower()} with id {record_id}")
        return row

    def lock(self, connection: Connection, context: Context, entity_name: str, record_id: Any,
             action: Action = "update") -> Record:
        """The stored row, locked until the transaction ends, when the actor may ``action`` it (else 403/404)."""
        entity = self.model.entity(entity_name)
        access = self._require(context, entity, action)
        return self._load_for_change(connection, context, entity, record_id, action, access)

    def may_change(self, connection: Connection, context: Context, entity_name: str, record_id: int,
                   action: Action) -> bool:
        """Whether the actor's roles let it ``action`` (update, delete) this record."""
        entity = self.model.entity(entity_name)
        scope = self.access(context.actor, entity_name).scope(action)
        return self._load(connection, entity, record_id, scope=scope, actor=context.actor) is not None

    def preview(self, connection: Connection, context: Context, entity_name: str, record: Mapping[str, Any],
                values: Mapping[str, Any]) -> Record:
        """``record`` with ``values`` coerced and applied as an update would (nothing is written)."""
        entity = self.model.entity(entity_name)
        received = coerce_input(context, entity, self.access(context.actor, entity_name), values, creating=False,
                                workflows=self._workflows(entity), current=record)
        if received.errors:
            raise Invalid(f"the {entity.label.lower()} was not saved: {count_text(received.errors, 'problem')} to fix",
                          received.errors)
        return {**record, **received.values}

    def _load(self, connection: Connection, entity: Entity, record_id: Any, *, scope: str | None, actor: Actor,
              for_update: bool = False) -> Record | None:
        if not _is_record_id(record_id) or scope is None:
            return None
        table = self.model.table(entity.name)
        statement = select(table).where(table.c.id == record_id)
        condition = scope_condition(scope, table, actor)  # type: ignore[arg-type]
        if condition is not None:
            statement = statement.where(condition)
        if for_update:
            statement = statement.with_for_update()
        row = connection.execute(statement).mappings().first()
        return None if row is None else dict(row)

    def _load_for_change(self, connection: Connection, context: Context, entity: Entity, record_id: Any,
                         action: Action, access: EntityAccess) -> Record:
        """The row to update or delete, locked; 403 when the actor can see it but not change it."""
        row = self._load(connection, entity, record_id, scope=access.scope(action), actor=context.actor,
                         for_update=True)
        if row is not None:
            return row
        if self._load(connection, entity, record_id, scope=access.read, actor=context.actor) is not None:
            raise Forbidden(f"you may not {action} this {entity.label.lower()}: it belongs to someone else")
        raise NotFound(f"there is no {entity.label.lower()} with id {record_id}")

    # -- writing ------------------------------------------------------------------------------

    @atomic
    def create(self, connection: Connection, context: Context, entity_name: str, values: Mapping[str, Any]) -> Record:
        """Create a record from ``values`` (field name → input value); returns it as the actor sees it."""
        entity = self.model.entity(entity_name)
        access = self._require(context, entity, "create")
        received = coerce_input(context, entity, access, values, creating=True, workflows=self._workflows(entity))
        given = received.values
        record = apply_defaults(entity, given)
        for workflow in self._workflows(entity):
            if not (context.source in STATE_SETTING_SOURCES and given.get(workflow.field) is not None):
                record[workflow.field] = workflow.initial
        record.setdefault("owner_id", None)
        record.setdefault("owner_queue_id", None)
        if record["owner_id"] is None and record["owner_queue_id"] is None and context.source not in ROUTED_SOURCES:
            record["owner_id"] = context.actor.user_id
        # formulas may read the system columns (e.g. resolved_at - created_at), so they are set first
        record.update(created_at=context.now, updated_at=context.now, created_by=context.actor.user_id,
                      updated_by=context.actor.user_id, version=1)
        record = self._complete(connection, context, entity, record, given, received.errors)
        filled = frozenset(c.field for c in changed_fields({}, record, self._audited(entity)))
        pending = self.rules.before_write(connection, context,
                                          RecordChange(entity.name, "create", None, None, record, filled), record)
        record = self._after_rules(connection, context, entity, record, pending)
        if record["owner_id"] is None and record["owner_queue_id"] is None:
            # nobody was named and no rule assigned it: the creator has it
            record["owner_id"] = context.actor.user_id
        filled = frozenset(c.field for c in changed_fields({}, record, self._audited(entity)))
        self._run_hooks("before_write", connection, context,
                        RecordChange(entity.name, "create", None, None, record, filled))
        assign_autonumbers(connection, entity, record)
        check_unique(connection, self.model.table(entity.name), entity, record, None)
        table = self.model.table(entity.name)
        row = {**self._stored(entity, record), "version": 1, "owner_id": record["owner_id"],
               "owner_queue_id": record["owner_queue_id"],
               "created_at": context.now, "updated_at": context.now,
               "created_by": context.actor.user_id, "updated_by": context.actor.user_id}
        try:
            record_id = connection.execute(insert(table).values(row).returning(table.c.id)).scalar_one()
        except IntegrityError as error:
            raise Conflict(f"the {entity.label.lower()} conflicts with another record: {_constraint(error)}") from None
        row["id"] = record_id
        record_change(connection, context, entity=entity.name, record_id=record_id, action="create", version=1,
                      changes=changed_fields({}, row, self._audited(entity)))
        change = RecordChange(entity.name, "create", record_id, None, row, filled)
        self._run_hooks("after_write", connection, context, change)
        self.rules.after_write(connection, context, change, pending)
        if pending is not None and pending.effects:  # a rule's effect may have changed the record again
            row = self.stored_record(connection, entity.name, record_id)
        return self.visible(access, _ordered(table, row))

    @atomic
    def update(self, connection: Connection, context: Context, entity_name: str, record_id: Any,
               values: Mapping[str, Any], *, expected_version: int | None = None,
               transition: tuple[Workflow, Transition] | None = None, note: str | None = None,
               system_values: Mapping[str, Any] | None = None) -> Record:
        """Change the fields in ``values``; ``expected_version`` refuses the change when the record moved on.

        A workflow's state field changes only with ``transition`` (``WorkflowRuntime.take`` checks it first).
        """
        entity = self.model.entity(entity_name)
        access = self._require(context, entity, "update")
        current = self._load_for_change(connection, context, entity, record_id, "update", access)
        check_version(entity, current, expected_version)
        state_field = transition[0].field if transition else None
        received = coerce_input(context, entity, access, values, creating=False, workflows=self._workflows(entity),
                                state_field=state_field, current=current)
        given = received.values
        if system_values:  # set by the platform in the same change (a state's on_enter): coerced, not permission-checked
            platform = coerce_input(Context(Actor.system(), "system", context.now), entity,
                                    self.access(Actor.system(), entity.name), system_values, creating=False)
            if platform.errors:
                raise Invalid(f"the {entity.label.lower()} was not saved: the workflow sets values that do not fit",
                              platform.errors)
            given = {**given, **platform.values}
        merged = {**current, **_one_owner(given), "updated_at": context.now, "updated_by": context.actor.user_id}
        record = self._complete(connection, context, entity, merged, given, received.errors)
        if transition is None:
            return self._write_update(connection, context, entity, access, current, record, note=note)
        workflow, step = transition
        return self._write_update(connection, context, entity, access, current, record,
                                  note=step.label or step.name, transition=f"{workflow.name}.{step.name}")

    def _write_update(self, connection: Connection, context: Context, entity: Entity, access: EntityAccess,
                      current: Record, record: Record, note: str | None = None,
                      transition: str | None = None, depth: int = 0) -> Record:
        table = self.model.table(entity.name)
        changes = changed_fields(current, record, self._audited(entity))
        if not changes:
            return self.visible(access, current)
        changed = frozenset(c.field for c in changes)
        pending = self.rules.before_write(
            connection, context, RecordChange(entity.name, "update", current["id"], current, record, changed, transition),
            record)
        if pending is not None and pending.changed:
            record = self._after_rules(connection, context, entity, record, pending)
            changes = changed_fields(current, record, self._audited(entity))
            if not changes:
                return self.visible(access, current)
            changed = frozenset(c.field for c in changes)
        self._run_hooks("before_write", connection, context,
                        RecordChange(entity.name, "update", current["id"], current, record, changed, transition))
        check_unique(connection, self.model.table(entity.name), entity, record, current["id"])
        new_values = {c.field: record[c.field] for c in changes}
        new_values.update(version=current["version"] + 1, updated_at=context.now, updated_by=context.actor.user_id)
        try:
            result = connection.execute(
                update(table).where(table.c.id == current["id"], table.c.version == current["version"]).values(new_values)
            )
        except IntegrityError as error:
            raise Conflict(f"the {entity.label.lower()} conflicts with another record: {_constraint(error)}") from None
        if result.rowcount != 1:
            latest = connection.execute(select(table.c.version).where(table.c.id == current["id"])).scalar()
            raise StaleVersion(f"{entity.label} {current['id']} was changed by someone else meanwhile; reload it",
                               latest or current["version"])
        row = {**current, **new_values}
        record_change(connection, context, entity=entity.name, record_id=current["id"],
                      action="transition" if transition else "update", version=row["version"], changes=changes,
                      note=note)
        self._refresh_dependents(connection, context, entity, current["id"], changed, depth)
        change = RecordChange(entity.name, "update", current["id"], current, row, changed, transition)
        self._run_hooks("after_write", connection, context, change)
        self.rules.after_write(connection, context, change, pending)
        if pending is not None and pending.effects:  # a rule's effect may have changed the record again
            row = self.stored_record(connection, entity.name, current["id"])
        return self.visible(access, row)

    #: How far a change ripples through formulas of other records (A's formula reads B, B's reads C...).
    MAX_FORMULA_DEPTH = 5

    def _refresh_dependents(self, connection: Connection, context: Context, entity: Entity, record_id: int,
                            changed: frozenset[str], depth: int) -> None:
        """Recompute the stored formulas of records whose formulas read this record through a lookup."""
        if depth >= self.MAX_FORMULA_DEPTH:
            return
        for dependent in self.model.formula_dependents(entity.name):
            if not changed & dependent.fields:
                continue
            other = self.model.entity(dependent.entity)
            table = self.model.table(other.name)
            rows = connection.execute(
                select(table).where(table.c[dependent.lookup] == record_id).with_for_update()).mappings().all()
            full = self.access(Actor.system(), other.name)
            for row in rows:
                child = dict(row)
                self._write_update(connection, context, other, full, child, self._recompute(connection, context, other, child),
                                   note=f"recomputed because {entity.name} #{record_id} changed", depth=depth + 1)

    def _recompute(self, connection: Connection, context: Context, entity: Entity, record: Record) -> Record:
        """``record`` with its formulas computed afresh (a value that no longer fits becomes empty)."""
        logic = self.model.logic(entity.name)
        expanded = self.expand_lookups(connection, entity, dict(record), logic.lookups)
        expanded, _errors = apply_formulas(logic, expanded, {"now": context.now})
        return {**record, **{f.name: expanded[f.name] for f, _ in logic.formulas}}

    @atomic
    def delete(self, connection: Connection, context: Context, entity_name: str, record_id: Any, *,
               expected_version: int | None = None) -> None:
        """Delete the record, applying each reference's on-delete rule through this same service."""
        entity = self.model.entity(entity_name)
        access = self._require(context, entity, "delete")
        current = self._load_for_change(connection, context, entity, record_id, "delete", access)
        check_version(entity, current, expected_version)
        self._delete_row(connection, context, entity, current, note=None)

    def _delete_row(self, connection: Connection, context: Context, entity: Entity, current: Record,
                    note: str | None) -> None:
        check_restrict(connection, self.model, entity, current["id"])
        change = RecordChange(entity.name, "delete", current["id"], current, None, frozenset())
        self._run_hooks("before_write", connection, context, change)
        pending = self.rules.before_write(connection, context, change, dict(current))
        self._apply_references(connection, context, entity, current["id"])
        table = self.model.table(entity.name)
        connection.execute(delete(table).where(table.c.id == current["id"]))
        record_change(connection, context, entity=entity.name, record_id=current["id"], action="delete",
                      version=current["version"], changes=changed_fields(current, {}, self._audited(entity)), note=note)
        self._run_hooks("after_write", connection, context, change)
        self.rules.after_write(connection, context, change, pending)

    def _apply_references(self, connection: Connection, context: Context, entity: Entity, record_id: int) -> None:
        """Clear or delete the records pointing to a record being deleted, each audited like any change."""
        for reference in self.model.references_to(entity.name):
            if reference.on_delete == "restrict":
                continue
            other = self.model.entity(reference.entity)
            table = self.model.table(other.name)
            rows = connection.execute(
                select(table).where(table.c[reference.field.name] == record_id).with_for_update()
            ).mappings().all()
            full = self.access(Actor.system(), other.name)
            for row in rows:
                child = dict(row)
                if child["id"] == record_id and other.name == entity.name:
                    continue
                if reference.on_delete == "cascade":
                    self._delete_row(connection, context, other, child,
                                     note=_CASCADE_NOTE.format(verb="deleted", entity=entity.name, id=record_id))
                else:
                    cleared = self._recompute(connection, context, other, {**child, reference.field.name: None})
                    self._write_update(connection, context, other, full, child, cleared,
                                       note=_CASCADE_NOTE.format(verb=f"'{reference.field.label}' cleared",
                                                                 entity=entity.name, id=record_id))

    # -- the steps ----------------------------------------------------------------------------

    def _after_rules(self, connection: Connection, context: Context, entity: Entity, record: Record,
                     pending: Pending | None) -> Record:
        """The record once rules changed it: formulas again, and the same checks as the person's input."""
        if pending is None or not pending.changed:
            return record
        try:
            return self._complete(connection, context, entity, record, pending.changed, [])
        except Invalid as error:
            raise Invalid(f"the rules set values that do not pass the checks of {entity.label.lower()}: "
                          f"{count_text(error.errors, 'problem')}", error.errors) from None

    def _complete(self, connection: Connection, context: Context, entity: Entity, record: Record,
                  given: Mapping[str, Any], input_errors: Sequence[FieldError]) -> Record:
        """Check references, compute formulas, check required fields and validation rules; raise every error at once.

        Validation rules run unless an input value was malformed (its field would
        read as empty and the rule could blame the wrong thing).
        """
        errors = [*input_errors, *missing_references(connection, self.model, entity, record, given)]
        malformed = {e.field for e in input_errors}
        logic = self.model.logic(entity.name)
        expanded = self.expand_lookups(connection, entity, record, logic.lookups)
        evaluation_context = {"now": context.now}
        expanded, formula_errors = apply_formulas(logic, expanded, evaluation_context)
        errors += formula_errors
        record = {**record, **{f.name: expanded[f.name] for f, _ in logic.formulas}}
        for field in entity.fields:
            if (field.required and not get_field_type(field.type).computed and field.name not in malformed
                    and is_empty(record.get(field.name))):
                errors.append(FieldError(field.name, f"'{field.label}' is required", "required"))
        errors += conditionally_required_errors(logic, expanded, evaluation_context, {e.field for e in errors} | malformed)
        if not malformed:
            errors += validation_errors(logic, expanded, evaluation_context)
        if errors:
            raise Invalid(f"the {entity.label.lower()} was not saved: {count_text(errors, 'problem')} to fix", errors)
        return record

    def expand_lookups(self, connection: Connection, entity: Entity, record: Record, paths: Iterable[str]) -> Record:
        """The record with each lookup in ``paths`` replaced by the related record (for expressions)."""
        return expand_lookups(connection, self.model, entity, record, paths)

    def _workflows(self, entity: Entity) -> list[Workflow]:
        return [w for w in self.model.catalog.workflows.values() if w.entity == entity.name]

    def _stored(self, entity: Entity, record: Mapping[str, Any]) -> Record:
        return {f.name: record.get(f.name) for f in entity.fields}

    def _audited(self, entity: Entity) -> tuple[str, ...]:
        return (*entity.field_names, "owner_id", "owner_queue_id")

    def _run_hooks(self, stage: str, connection: Connection, context: Context, change: RecordChange) -> None:
        for hook in self.hooks:
            getattr(hook, stage)(connection, context, change)


def _one_owner(given: Mapping[str, Any]) -> dict[str, Any]:
    """A record is owned by a user or waits in a queue: giving one (not empty) clears the other."""
    result = dict(given)
    if given.get("owner_queue_id") is not None and "owner_id" not in given:
        result["owner_id"] = None
    if given.get("owner_id") is not None and "owner_queue_id" not in given:
        result["owner_queue_id"] = None
    return result


def _is_record_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _ordered(table: Table, row: Mapping[str, Any]) -> Record:
    return {column.name: row.get(column.name) for column in table.columns}


def _constraint(error: IntegrityError) -> str:
    return str(error.orig).splitlines()[0] if error.orig is not None else "a database constraint refused it"
