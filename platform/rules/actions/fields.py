"""Actions that change fields of the rule's own record: ``set``, ``raise``, ``start_workflow``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Field, Workflow
from xrm.rules import ast
from xrm.rules.actions.base import ActionCheck, ActionRun, Outcome, RuleAction, compiles
from xrm.rules.expr import CheckedExpression
from xrm.rules.trace import shown


@dataclass(frozen=True)
class SetFields(RuleAction):
    kind = "set"
    phase = "record"
    assignments: tuple[tuple[str, CheckedExpression], ...]

    @property
    def writes(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.assignments)

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        values = {name: run.evaluate(expression, record) for name, expression in self.assignments}
        changed = {name: value for name, value in values.items() if record.get(name) != value}
        record.update(values)
        summary = "set " + ", ".join(f"{name} = {shown(value)}" for name, value in values.items())
        return Outcome("set", summary, {"values": {k: _json(v) for k, v in values.items()}}, bool(changed))

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "set", "fields": [name for name, _ in self.assignments]}


@compiles(ast.SetFields)
def _set(node: ast.SetFields, check: ActionCheck) -> SetFields | None:
    assignments = []
    for assignment in node.assignments:
        field = check.field(assignment.field, settable=True)
        if field is None:
            continue
        expression = check.expression(assignment.value, expected=get_field_type(field.type).value_type_of(field))
        if expression is not None:
            _check_option(check, field, assignment.value, expression)
            assignments.append((field.name, expression))
    return SetFields(tuple(assignments)) if len(assignments) == len(node.assignments) else None


def _check_option(check: ActionCheck, field: Field, source: ast.Source, expression: CheckedExpression) -> None:
    """A picklist set to a literal must be set to one of its options."""
    literal = getattr(expression.tree, "value", None) if type(expression.tree).__name__ == "Literal" else None
    if field.options and isinstance(literal, str) and field.option(literal) is None:
        options = ", ".join(repr(o.value) for o in field.options)
        check.report(source.place, f"'{literal}' is not an option of {field.name}", expected=options, found=literal,
                     code="unknown_option")


@dataclass(frozen=True)
class RaiseField(RuleAction):
    """A picklist moves up to its next option: ``raise priority`` takes 'medium' to 'high'."""

    kind = "raise"
    phase = "record"
    field: Field

    @property
    def writes(self) -> frozenset[str]:
        return frozenset({self.field.name})

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        options = [o.value for o in self.field.options if o.active]
        current = record.get(self.field.name)
        position = options.index(current) if current in options else -1
        if position == len(options) - 1:
            return Outcome("raise", f"{self.field.name} is already {shown(current)}, the highest", done=False)
        record[self.field.name] = options[position + 1]
        return Outcome("raise", f"raised {self.field.name} from {shown(current)} to {shown(options[position + 1])}",
                       {"field": self.field.name, "from": current, "to": options[position + 1]})

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "raise", "fields": [self.field.name]}


@compiles(ast.RaiseField)
def _raise(node: ast.RaiseField, check: ActionCheck) -> RaiseField | None:
    field = check.field(node.field, settable=True)
    if field is None:
        return None
    if not field.options or field.type != "picklist":
        check.report(node.field.place, f"only a picklist can be raised, and {field.name} is a {field.type}",
                     code="not_a_picklist")
        return None
    return RaiseField(field)


@dataclass(frozen=True)
class StartWorkflow(RuleAction):
    """A record without a state enters the workflow's initial state."""

    kind = "start_workflow"
    phase = "record"
    workflow: Workflow

    @property
    def writes(self) -> frozenset[str]:
        return frozenset({self.workflow.field})

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        if record.get(self.workflow.field) not in (None, ""):
            return Outcome("start_workflow", f"{self.workflow.label} already started "
                           f"({self.workflow.field} = {shown(record[self.workflow.field])})", done=False)
        record[self.workflow.field] = self.workflow.initial
        return Outcome("start_workflow", f"started {self.workflow.label} at '{self.workflow.initial}'")

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "start_workflow", "target": self.workflow.name}


@compiles(ast.StartWorkflow)
def _start(node: ast.StartWorkflow, check: ActionCheck) -> StartWorkflow | None:
    workflow = check.catalog.workflows.get(node.workflow.text)
    if workflow is None or workflow.entity != check.entity.name:
        names = [w.name for w in check.catalog.workflows.values() if w.entity == check.entity.name]
        check.report(node.workflow.place, f"{check.entity.name} has no workflow '{node.workflow.text}'",
                     expected=", ".join(names) or "a workflow of this entity", code="unknown_workflow")
        return None
    return StartWorkflow(workflow)


def _json(value: Any) -> Any:
    """A value as JSON can hold it (dates and decimals as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return str(value)
