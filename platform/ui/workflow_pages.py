"""Workflow buttons on the record page, and ``/app/{entity}/{id}/transitions/{name}`` to take one.

Every transition out of the record's state is shown: one the reader may take
now is a button posting to the transition; one that only lacks fields the
reader can fill leads to a small form for them; any other is a disabled button
with its reasons written next to it (a disabled button cannot take focus, so
the reasons are text, tied to it with ``aria-describedby``, and in ``title``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import RedirectResponse, Response

from xrm.metadata.model import Entity, Transition, Workflow
from xrm.runtime.record_errors import Forbidden, NotFound, RecordError, StaleVersion
from xrm.runtime.record_logic import FieldError
from xrm.runtime.workflows import TransitionOption, WorkflowRuntime, workflows_of
from xrm.ui.display import record_name
from xrm.ui.form_model import build_form, editable_fields, error_links, field_errors, submitted, typed_values
from xrm.ui.form_pages import STALE_MESSAGE
from xrm.ui.page_calls import PageCall


@dataclass(frozen=True)
class TransitionButton:
    name: str
    label: str
    target: str
    href: str
    available: bool
    #: blocked only by fields the reader can fill in: the button leads to a form for them
    needs_form: bool
    reasons: tuple[str, ...]

    @property
    def reason_id(self) -> str:
        return f"why-{self.name}"

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)


def _transition(call: PageCall, entity: str, name: str) -> tuple[Workflow, Transition]:
    found = [(w, t) for w in workflows_of(call.model, entity) for t in w.transitions if t.name == name]
    if not found:
        raise NotFound(f"{call.model.entity(entity).label} has no transition '{name}'")
    return found[0]


def _state_label(workflow: Workflow, name: str) -> str:
    return next((s.label for s in workflow.states if s.name == name), name)


def fillable_fields(call: PageCall, entity: Entity, transition: Transition) -> set[str]:
    access = call.service.access(call.context.actor, entity.name)
    return {f.name for f in editable_fields(call, entity, access, transition.requires)}


def form_field_names(call: PageCall, entity: Entity, transition: Transition) -> list[str]:
    """The transition form's fields: those it requires, then those a ``required_when`` ties to them
    (closing an opportunity as lost to a competitor asks which competitor)."""
    access = call.service.access(call.context.actor, entity.name)
    required = [n for n in transition.requires if n in fillable_fields(call, entity, transition)]
    companions = [f.name for f, checked in call.model.logic(entity.name).required_when
                  if f.name not in required and any(e == entity.name and n in required for e, n in checked.fields_used)]
    editable = {f.name for f in editable_fields(call, entity, access, companions)}
    return required + [n for n in companions if n in editable]


def transition_buttons(call: PageCall, entity: Entity, record_id: int) -> list[TransitionButton]:
    """The record page's buttons, one per transition out of the record's current state."""
    buttons = []
    for option in WorkflowRuntime(call.service).options(call.connection, call.context, entity.name, record_id):
        workflow, transition = _transition(call, entity.name, option.name)
        fillable = fillable_fields(call, entity, transition)
        needs_form = bool(option.blockers) and all(b.code == "required" and b.field in fillable
                                                   for b in option.blockers)
        buttons.append(TransitionButton(
            option.name, option.label, _state_label(workflow, option.target),
            f"/app/{entity.name}/{record_id}/transitions/{option.name}", option.available, needs_form,
            tuple(b.message for b in option.blockers)))
    return buttons


def _option(call: PageCall, entity: str, record_id: int, name: str) -> TransitionOption | None:
    options = WorkflowRuntime(call.service).options(call.connection, call.context, entity, record_id)
    return next((o for o in options if o.name == name), None)


def _page(call: PageCall, *, values: Mapping[str, Any] | None = None,
          errors: Mapping[str | None, list[str]] | None = None, status: int = 200) -> Response:
    entity = call.model.entity(call.param("entity"))
    record_id, name = call.param("id"), call.param("name")
    workflow, transition = _transition(call, entity.name, name)
    record = call.service.get(call.connection, call.context, entity.name, record_id)
    access = call.service.access(call.context.actor, entity.name)
    option = _option(call, entity.name, record_id, name)
    fillable = fillable_fields(call, entity, transition)
    errors = dict(errors or {})
    if option is None and not errors:
        errors[None] = [f"'{transition.label}' cannot be taken from the record's current state"]
    elif option is not None and not errors:  # what stands in the way besides the fields below
        for blocker in option.blockers:
            if not (blocker.code == "required" and blocker.field in fillable):
                errors.setdefault(None, []).append(blocker.message)
    fields = build_form(call, entity, access, record, values, errors, only=form_field_names(call, entity, transition))
    href = f"/app/{entity.name}/{record_id}"
    return call.render("transition.html", {
        "entity": entity, "title": transition.label or transition.name, "record_title": record_name(entity, record),
        "record_href": href, "list_href": f"/app/{entity.name}", "action": f"{href}/transitions/{name}",
        "source": _state_label(workflow, str(record.get(workflow.field))),
        "target": _state_label(workflow, transition.target), "fields": fields, "errors": error_links(fields, errors),
        "version": record.get("version") if values is None else (call.form or {}).get("version", ""),
        "validate_href": None,
    }, status=status)


def transition_form(call: PageCall) -> Response:
    """What the transition needs: the fields it requires that are still empty, and what else stands in its way."""
    return _page(call)


def take_transition(call: PageCall) -> Response:
    """Take the transition with the posted fields; refused, show its form again with the reasons."""
    entity = call.model.entity(call.param("entity"))
    record_id, name = call.param("id"), call.param("name")
    _workflow, transition = _transition(call, entity.name, name)
    assert call.form is not None, "a POST page"
    fields = [f for n in form_field_names(call, entity, transition) if (f := entity.field(n)) is not None]
    raw_version = str(call.form.get("version", "")).strip()
    try:
        WorkflowRuntime(call.service).take(call.connection, call.context, entity.name, record_id, name,
                                           submitted(fields, call.form, call),
                                           expected_version=int(raw_version) if raw_version.isdigit() else None)
    except Forbidden:
        raise
    except RecordError as error:
        errors = ({None: [STALE_MESSAGE]} if isinstance(error, StaleVersion)
                  else field_errors(error.errors or [FieldError(None, error.detail, "refused")]))
        return _page(call, values=typed_values(fields, call.form), errors=errors, status=error.status)
    return RedirectResponse(f"/app/{entity.name}/{record_id}", status_code=303)
