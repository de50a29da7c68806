"""Actions that act once the record is written: ``notify``, ``create``, ``add_to_campaign``, ``transition``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Workflow
from xrm.rules import ast
from xrm.rules.actions.base import ActionCheck, ActionRun, Outcome, RuleAction, compiles
from xrm.rules.actions.people import UserPath, user_path
from xrm.rules.expr import CheckedExpression
from xrm.rules.trace import shown
from xrm.runtime.notifications import notify
from xrm.runtime.record_errors import RecordError
from xrm.system_tables import org_tables, user_roles, users

#: ``{field}`` or ``{lookup.field}`` in a notification's subject or message
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


@dataclass(frozen=True)
class Recipient:
    kind: str
    name: str
    person: UserPath | None = None

    def user_ids(self, run: ActionRun, record: dict[str, Any]) -> list[int]:
        if self.person is not None:
            found = self.person.resolve(run, record)
            return [found] if found is not None else []
        return list(run.connection.execute(_MEMBERS[self.kind](self.name)).scalars())


def _team(name: str) -> Any:
    teams, members = org_tables["team"], org_tables["team_member"]
    return select(members.c.user).join(teams, teams.c.id == members.c.team).where(teams.c.name == name)


def _queue(name: str) -> Any:
    queues, members = org_tables["queue"], org_tables["queue_member"]
    return select(members.c.user).join(queues, queues.c.id == members.c.queue).where(queues.c.name == name)


_MEMBERS = {
    "team": _team,
    "queue": _queue,
    "user": lambda name: select(users.c.id).where(users.c.username == name),
    "role": lambda name: select(user_roles.c.user_id).where(user_roles.c.role == name),
}


@dataclass(frozen=True)
class Text:
    """A subject or message with ``{field}`` placeholders filled from the record."""

    template: str
    paths: tuple[tuple[str, CheckedExpression], ...]

    def render(self, run: ActionRun, record: dict[str, Any]) -> str:
        values = {path: run.evaluate(expression, record) for path, expression in self.paths}
        return PLACEHOLDER.sub(lambda m: "" if values.get(m.group(1)) is None else str(values[m.group(1)]),
                               self.template)


def _text(template: str, place: ast.Place, check: ActionCheck) -> Text | None:
    paths = []
    for name in dict.fromkeys(PLACEHOLDER.findall(template)):
        expression = check.expression(ast.Source(name, place))
        if expression is None:
            return None
        paths.append((name, expression))
    return Text(template, tuple(paths))


@dataclass(frozen=True)
class Notify(RuleAction):
    kind = "notify"
    phase = "effect"
    recipients: tuple[Recipient, ...]
    subject: Text | None
    message: Text | None

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        people = list(dict.fromkeys(uid for r in self.recipients for uid in r.user_ids(run, record)))
        label = f"{run.entity.label} {record.get(run.entity.display_field) or '#' + str(record.get('id'))}"
        subject = self.subject.render(run, record) if self.subject else f"{run.rule_name}: {label}"
        body = self.message.render(run, record) if self.message else f"Rule '{run.rule_name}' fired on {label}."
        for user_id in people:
            notify(run.service, run.connection, run.context, user_id, subject, body, run.entity.name,
                   record.get("id"), email=True)
        if not people:
            return Outcome("notify", "nobody to notify: " + ", ".join(r.name for r in self.recipients), done=False)
        names = sorted(run.connection.execute(select(users.c.display_name).where(users.c.id.in_(people))).scalars())
        shows = sorted({path for text in (self.subject, self.message) if text for path, _ in text.paths})
        return Outcome("notify", f"notified {', '.join(names)}: {subject}",
                       {"user_ids": people, "subject": subject, "fields": shows})

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "notify", "target": ", ".join(r.name for r in self.recipients)}


@compiles(ast.Notify)
def _notify(node: ast.Notify, check: ActionCheck) -> Notify | None:
    recipients, ok = [], True
    for recipient in node.recipients:
        if recipient.kind == "field":
            person = user_path(recipient.name, recipient.place, check)
            ok = ok and person is not None
            recipients.append(Recipient("field", recipient.name, person))
        else:
            ok = check.known(recipient.kind, recipient.name, recipient.place) and ok  # type: ignore[arg-type]
            recipients.append(Recipient(recipient.kind, recipient.name))
    subject_text, message_text = node.subject, node.message
    if node.template is not None:
        template = check.templates.get(node.template)  # type: ignore[attr-defined]
        if template is None:
            ok = check.known("template", node.template, node.place) and ok
        else:
            subject_text, message_text = subject_text or template.subject, message_text or template.message
    subject = _text(subject_text, node.place, check) if subject_text else None
    message = _text(message_text, node.place, check) if message_text else None
    if not ok or (subject_text and subject is None) or (message_text and message is None):
        return None
    return Notify(tuple(recipients), subject, message)


def _json_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@dataclass(frozen=True)
class CreateRecord(RuleAction):
    """A related record (a task, a follow-up), its values computed from the rule's record."""

    kind = "create"
    phase = "effect"
    entity: str
    assignments: tuple[tuple[str, CheckedExpression], ...]

    @property
    def creates(self) -> str | None:
        return self.entity

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        values = {name: _json_value(run.evaluate(expression, record)) for name, expression in self.assignments}
        if "owner_id" not in values and "owner_queue_id" not in values:
            values["owner_id"], values["owner_queue_id"] = record.get("owner_id"), record.get("owner_queue_id")
        target = run.service.model.entity(self.entity)
        created = run.service.create(run.connection, run.context, self.entity, values)
        name = created.get(target.display_field)
        return Outcome("create", f"created {target.label.lower()} #{created['id']}" + (f" '{name}'" if name else ""),
                       {"entity": self.entity, "id": created["id"]})

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "create", "target": self.entity}


@compiles(ast.CreateRecord)
def _create(node: ast.CreateRecord, check: ActionCheck) -> CreateRecord | None:
    target = check.catalog.entities.get(node.entity.text)
    if target is None:
        check.report(node.entity.place, f"there is no entity '{node.entity.text}' to create", code="unknown_entity")
        return None
    assignments, ok = [], True
    for assignment in node.assignments:
        field = check.field(assignment.field, entity=target, settable=True)
        if field is None:
            ok = False
            continue
        wanted = get_field_type(field.type).value_type_of(field)
        linking = wanted.startswith("ref:")  # a lookup takes a reference or an id, e.g. `lead = id`
        expression = check.expression(assignment.value, expected=None if linking else wanted)
        if expression is None:
            ok = False
            continue
        if linking and expression.type not in (wanted, "integer", "null"):
            check.report(assignment.value.place, f"{target.name}.{field.name} points to {wanted[4:]} records",
                         expected=f"a lookup to {wanted[4:]} or a record id, such as id", found=expression.type,
                         code="expression")
            ok = False
            continue
        assignments.append((field.name, expression))
    return CreateRecord(target.name, tuple(assignments)) if ok else None


@dataclass(frozen=True)
class AddToCampaign(RuleAction):
    """The record joins a campaign (found by name) as a member with a status; a member already only
    gets the new status."""

    kind = "add_to_campaign"
    phase = "effect"
    campaign: str
    status: str | None
    member_field: str

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        model = run.service.model
        campaigns, members = model.table("campaign"), model.table("campaign_member")
        campaign_entity = model.entity("campaign")
        found = run.connection.execute(select(campaigns.c.id).where(
            campaigns.c[campaign_entity.display_field] == self.campaign)).scalar()
        if found is None:
            return Outcome("add_to_campaign", f"not added: there is no campaign named '{self.campaign}'", done=False)
        existing = run.connection.execute(select(members.c.id, members.c.member_status).where(
            members.c.campaign == found, members.c[self.member_field] == record["id"])).first()
        status = {"member_status": self.status} if self.status else {}
        if existing is None:
            run.service.create(run.connection, run.context, "campaign_member",
                               {"campaign": found, self.member_field: record["id"], **status})
            return Outcome("add_to_campaign", f"added to campaign '{self.campaign}'"
                           + (f" as {shown(self.status)}" if self.status else ""), {"campaign_id": found})
        if self.status and existing.member_status != self.status:
            run.service.update(run.connection, run.context, "campaign_member", existing.id, status)
            return Outcome("add_to_campaign", f"campaign '{self.campaign}': status {shown(existing.member_status)} → "
                           f"{shown(self.status)}", {"campaign_id": found})
        return Outcome("add_to_campaign", f"already a member of campaign '{self.campaign}'", done=False)

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "add_to_campaign", "target": self.campaign}


@compiles(ast.AddToCampaign)
def _campaign(node: ast.AddToCampaign, check: ActionCheck) -> AddToCampaign | None:
    members = check.catalog.entities.get("campaign_member")
    if "campaign" not in check.catalog.entities or members is None:
        check.report(node.place, "add_to_campaign needs the entities campaign and campaign_member (the crm pack)",
                     code="no_campaigns")
        return None
    link = next((f for f in members.fields if f.target == check.entity.name), None)
    if link is None:
        check.report(node.place, f"campaign members cannot be {check.entity.plural_label.lower()}: campaign_member "
                     f"has no lookup to {check.entity.name}", code="not_a_campaign_member")
        return None
    status_field = members.field("member_status")
    if node.status is not None and status_field is not None and status_field.option(node.status) is None:
        check.report(node.place, f"'{node.status}' is not a campaign member status",
                     expected=", ".join(repr(o.value) for o in status_field.options), code="unknown_option")
        return None
    return AddToCampaign(node.campaign, node.status, link.name)


@dataclass(frozen=True)
class TakeTransition(RuleAction):
    """Advance the record's workflow, like a user pressing the button (guards and required fields apply)."""

    kind = "transition"
    phase = "effect"
    workflow: Workflow
    transition: str

    @property
    def writes(self) -> frozenset[str]:
        return frozenset({self.workflow.field})

    def run(self, run: ActionRun, record: dict[str, Any]) -> Outcome:
        from xrm.runtime.workflows import WorkflowRuntime

        step = next(t for t in self.workflow.transitions if t.name == self.transition)
        current = run.service.stored_record(run.connection, run.entity.name, record["id"])
        if current.get(self.workflow.field) not in step.sources:
            return Outcome("transition", f"'{step.label}' not taken: the record is {shown(current.get(self.workflow.field))}",
                           done=False)
        try:
            WorkflowRuntime(run.service).take(run.connection, run.context, run.entity.name, record["id"], step.name)
        except RecordError as error:
            reasons = "; ".join(e.message for e in error.errors) or str(error)
            return Outcome("transition", f"'{step.label}' not taken: {reasons}", done=False)
        return Outcome("transition", f"took '{step.label}' to {shown(step.target)}",
                       {"workflow": self.workflow.name, "transition": step.name})

    def plan(self) -> Mapping[str, Any]:
        return {"kind": "transition", "target": self.transition}


@compiles(ast.TakeTransition)
def _transition(node: ast.TakeTransition, check: ActionCheck) -> TakeTransition | None:
    found = [(w, t) for w in check.catalog.workflows.values() if w.entity == check.entity.name
             for t in w.transitions if t.name == node.transition.text]
    if not found:
        names = [t.name for w in check.catalog.workflows.values() if w.entity == check.entity.name for t in w.transitions]
        check.report(node.transition.place, f"{check.entity.name} has no transition '{node.transition.text}'",
                     expected=", ".join(names) or "a transition of this entity's workflow", code="unknown_transition")
        return None
    return TakeTransition(found[0][0], found[0][1].name)
