"""The lark parse tree of a rule file → ``xrm.rules.ast``: one Transformer method per grammar rule.

Expressions inside rules are kept as their text (``ast.Source``) with their
place; the expression checker parses them again, so errors point into them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, v_args

from xrm.metadata.durations import parse_duration
from xrm.rules import ast


def _without_comments(text: str) -> str:
    """``#`` comments blanked out (outside quotes), so an expression spanning lines checks like it reads."""
    out, quoted, index = [], False, 0
    while index < len(text):
        char = text[index]
        if quoted and char == "\\":
            out.append(text[index:index + 2])
            index += 2
            continue
        if char == "'":
            quoted = not quoted
        elif char == "#" and not quoted:
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            out.append(" " * (end - index))
            index = end
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _place(item: Token | Any) -> ast.Place:
    return ast.Place(item.line, item.column)


def _text(token: Token) -> str:
    """A quoted string's content (single or double quotes), escapes resolved."""
    body = token.value[1:-1]
    return body.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


def _tokens(children: list[Any], *types: str) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type in types]


class InvalidToken(Exception):
    def __init__(self, token: Token, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.token, self.message, self.hint = token, message, hint


@v_args(meta=True)
class ToRules(Transformer):
    """lark parse tree → ``xrm.rules.ast`` nodes; expressions are kept as text with their place."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    # -- pieces ----------------------------------------------------------------------------

    def condition(self, meta, children) -> ast.Source:
        text = self.source[meta.start_pos:meta.end_pos]
        return ast.Source(_without_comments(text) if "#" in text else text, ast.Place(meta.line, meta.column))

    value = condition

    def constant(self, meta, children) -> Any:
        (token,) = children
        kind = token.type
        if kind == "STRING":
            return _text(token)
        if kind == "SIGNED_INT":
            return int(token.value)
        if kind == "DECIMAL":
            return Decimal(token.value)
        return kind == "TRUE"

    def constants(self, meta, children) -> tuple[Any, ...]:
        return tuple(children)

    def change_from(self, meta, children) -> tuple[Any, ...]:
        return children[0]

    change_to = change_from

    def calendar(self, meta, children) -> str:
        return _text(children[0])

    def record_event(self, meta, children) -> Token:
        return children[0]

    time_side = record_event
    group = record_event
    days = record_event
    effect = record_event

    def assignment(self, meta, children) -> ast.Assignment:
        name, value = children
        return ast.Assignment(ast.Name(name.value, _place(name)), value)

    # -- triggers ----------------------------------------------------------------------------

    def triggers(self, meta, children) -> tuple[ast.Trigger, ...]:
        return tuple(children)

    def event_trigger(self, meta, children) -> ast.RecordEvent:
        entity, event = children
        return ast.RecordEvent(event.value, ast.Name(entity.value, _place(entity)) if entity is not None else None,
                               ast.Place(meta.line, meta.column))

    def field_changed(self, meta, children) -> ast.FieldChanged:
        names = _tokens(children, "NAME")
        before, after = children[len(names)], children[len(names) + 1]
        path = ast.Name(".".join(n.value for n in names), _place(names[0]))
        return ast.FieldChanged(path, before, after, ast.Place(meta.line, meta.column))

    def transition_taken(self, meta, children) -> ast.TransitionTaken:
        entity, *rest = children
        name = [t for t in rest if isinstance(t, Token) and t.type == "NAME"][-1]
        return ast.TransitionTaken(ast.Name(name.value, _place(name)),
                                   ast.Name(entity.value, _place(entity)) if entity is not None else None,
                                   ast.Place(meta.line, meta.column))

    def relative_time(self, meta, children) -> ast.RelativeTime:
        durations = _tokens(children, "DURATION")
        side = next(c for c in children if isinstance(c, Token) and c.type in ("AFTER", "BEFORE"))
        anchor = next(c for c in children if isinstance(c, Token) and c.type == "NAME")
        calendar = children[-1] if isinstance(children[-1], str) and not isinstance(children[-1], Token) else None
        seconds = sum(parse_duration(d.value) for d in durations)
        return ast.RelativeTime(seconds, side.value, ast.Name(anchor.value, _place(anchor)),  # type: ignore[arg-type]
                                calendar, ast.Place(meta.line, meta.column))

    def scheduled(self, meta, children) -> ast.Scheduled:
        return replace(children[0], place=ast.Place(meta.line, meta.column))

    def daily(self, meta, children) -> ast.Scheduled:
        days, clock, zone = children
        hours, minutes = (int(part) for part in clock.value.split(":"))
        if hours > 23 or minutes > 59:
            raise InvalidToken(clock, f"{clock.value} is not a time of day", hint="write 24-hour times like 08:00 or 17:30")
        return ast.Scheduled(days.value, f"{hours:02d}:{minutes:02d}", _text(zone) if zone is not None else None,
                             None, ast.Place(meta.line, meta.column))

    def interval(self, meta, children) -> ast.Scheduled:
        seconds = sum(parse_duration(d.value) for d in children)
        if seconds < 60:
            raise InvalidToken(children[0], "a schedule repeats at most every minute", hint="write e.g. every 15m")
        return ast.Scheduled(None, None, None, seconds, ast.Place(meta.line, meta.column))

    # -- actions -----------------------------------------------------------------------------

    def set_action(self, meta, children) -> ast.SetFields:
        return ast.SetFields(tuple(children), ast.Place(meta.line, meta.column))

    def round_robin(self, meta, children) -> dict[str, Any]:
        group, name = children
        return {"strategy": "round_robin", "group": group.value, "target": _text(name)}

    def least_loaded(self, meta, children) -> dict[str, Any]:
        group, name = children
        return {"strategy": "least_loaded", "group": group.value, "target": _text(name)}

    def to_group(self, meta, children) -> dict[str, Any]:
        group, name = children
        return {"strategy": "group", "group": group.value, "target": _text(name)}

    def to_user(self, meta, children) -> dict[str, Any]:
        return {"strategy": "user", "group": None, "target": _text(children[0])}

    def to_field(self, meta, children) -> dict[str, Any]:
        return {"strategy": "field", "group": None, "target": ".".join(t.value for t in children)}

    def skip_absent(self, meta, children) -> tuple[str, Any]:
        return ("skip_absent", True)

    def cap(self, meta, children) -> tuple[str, Any]:
        value = int(children[0].value)
        if value < 1:
            raise InvalidToken(children[0], "a cap is at least 1 open record")
        return ("cap", value)

    def open_when(self, meta, children) -> tuple[str, Any]:
        return ("open_when", children[0])

    def fallback(self, meta, children) -> tuple[str, Any]:
        return ("fallback_queue", _text(children[-1]))

    def assign_action(self, meta, children) -> ast.Assign:
        how, *options = children
        settings: dict[str, Any] = {"skip_absent": False, "cap": None, "open_when": None, "fallback_queue": None}
        settings.update(dict(options))
        return ast.Assign(**how, **settings, place=ast.Place(meta.line, meta.column))

    def group_recipient(self, meta, children) -> ast.Recipient:
        group, name = children
        return ast.Recipient(group.value, _text(name), ast.Place(meta.line, meta.column))

    def user_recipient(self, meta, children) -> ast.Recipient:
        return ast.Recipient("user", _text(children[0]), ast.Place(meta.line, meta.column))

    def role_recipient(self, meta, children) -> ast.Recipient:
        return ast.Recipient("role", _text(children[0]), ast.Place(meta.line, meta.column))

    def field_recipient(self, meta, children) -> ast.Recipient:
        return ast.Recipient("field", ".".join(t.value for t in children), ast.Place(meta.line, meta.column))

    def template(self, meta, children) -> tuple[str, str]:
        return ("template", _text(children[0]))

    def subject(self, meta, children) -> tuple[str, str]:
        return ("subject", _text(children[0]))

    def message(self, meta, children) -> tuple[str, str]:
        return ("message", _text(children[0]))

    def notify_action(self, meta, children) -> ast.Notify:
        recipients = tuple(c for c in children if isinstance(c, ast.Recipient))
        options = dict(c for c in children if isinstance(c, tuple))
        return ast.Notify(recipients, options.get("template"), options.get("subject"), options.get("message"),
                          ast.Place(meta.line, meta.column))

    def create_action(self, meta, children) -> ast.CreateRecord:
        entity, *assignments = children
        return ast.CreateRecord(ast.Name(entity.value, _place(entity)),
                                tuple(a for a in assignments if a is not None), ast.Place(meta.line, meta.column))

    def campaign_action(self, meta, children) -> ast.AddToCampaign:
        campaign, status = children
        return ast.AddToCampaign(_text(campaign), _text(status) if status is not None else None,
                                 ast.Place(meta.line, meta.column))

    def transition_action(self, meta, children) -> ast.TakeTransition:
        name = children[-1]
        return ast.TakeTransition(ast.Name(name.value, _place(name)), ast.Place(meta.line, meta.column))

    def start_workflow_action(self, meta, children) -> ast.StartWorkflow:
        name = children[0]
        return ast.StartWorkflow(ast.Name(name.value, _place(name)), ast.Place(meta.line, meta.column))

    def queue_action(self, meta, children) -> ast.MoveToQueue:
        return ast.MoveToQueue(_text(children[-1]), ast.Place(meta.line, meta.column))

    def raise_action(self, meta, children) -> ast.RaiseField:
        name = children[0]
        return ast.RaiseField(ast.Name(name.value, _place(name)), ast.Place(meta.line, meta.column))

    def pool_queue(self, meta, children) -> tuple[str, Any]:
        return ("queue", _text(children[-1]))

    def protect(self, meta, children) -> tuple[str, Any]:
        return ("protect_seconds", sum(parse_duration(d.value) for d in children))

    def pool_action(self, meta, children) -> ast.ReturnToPool:
        options = dict(children)
        return ast.ReturnToPool(options.get("queue"), options.get("protect_seconds"), ast.Place(meta.line, meta.column))

    # -- rules, templates, tests -------------------------------------------------------------

    def priority(self, meta, children) -> tuple[str, Any]:
        return ("priority", int(children[0].value))

    def on_entity(self, meta, children) -> tuple[str, Any]:
        return ("entity", ast.Name(children[0].value, _place(children[0])))

    def rule(self, meta, children) -> dict[str, Any]:
        title, *rest = children
        options = dict(c for c in rest if isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], str))
        triggers = next(c for c in rest if isinstance(c, tuple) and c and not isinstance(c[0], str))
        condition = next((c for c in rest if isinstance(c, ast.Source)), None)
        actions = tuple(c for c in rest if isinstance(c, ast.Action))  # type: ignore[arg-type]
        stop = any(isinstance(c, Token) and c.type == "STOP" for c in rest)
        return {"kind": "rule", "name": _text(title), "priority": options.get("priority", 0),
                "entity": options.get("entity"), "triggers": triggers, "condition": condition, "actions": actions,
                "stop": stop, "place": _place(title)}

    def notification(self, meta, children) -> dict[str, Any]:
        name, subject, message = children
        return {"kind": "notification", "name": _text(name), "subject": _text(subject),
                "message": _text(message) if message is not None else None, "place": _place(name)}

    def pair(self, meta, children) -> tuple[ast.Name, ast.Source]:
        name, value = children
        return (ast.Name(name.value, _place(name)), value)

    def record_values(self, meta, children) -> tuple[tuple[ast.Name, ast.Source], ...]:
        return tuple(c for c in children if c is not None)

    def event_record(self, meta, children) -> ast.TestEvent:
        event, values, at = children
        return ast.TestEvent(event.value, values or (), None, _datetime(at))

    def event_transition(self, meta, children) -> ast.TestEvent:
        name = next(c for c in children if isinstance(c, Token) and c.type == "NAME")
        at = children[-1]
        return ast.TestEvent("transition", (), ast.Name(name.value, _place(name)), _datetime(at))

    def expect_fired(self, meta, children) -> ast.Expectation:
        return ast.Expectation("fired", ast.Place(meta.line, meta.column), rule=_text(children[-1]))

    def expect_not_fired(self, meta, children) -> ast.Expectation:
        return ast.Expectation("not_fired", ast.Place(meta.line, meta.column), rule=_text(children[-1]))

    def expect_nothing(self, meta, children) -> ast.Expectation:
        return ast.Expectation("nothing", ast.Place(meta.line, meta.column))

    def expect_value(self, meta, children) -> ast.Expectation:
        name, value = children[-2], children[-1]
        return ast.Expectation("value", ast.Place(meta.line, meta.column), field=ast.Name(name.value, _place(name)),
                               value=value)

    def expect_assign_group(self, meta, children) -> ast.Expectation:
        group, name = children[-2], children[-1]
        return ast.Expectation("assign", ast.Place(meta.line, meta.column), group=group.value, target=_text(name))

    def expect_assign_user(self, meta, children) -> ast.Expectation:
        return ast.Expectation("assign", ast.Place(meta.line, meta.column), group="user", target=_text(children[-1]))

    def expect_effect(self, meta, children) -> ast.Expectation:
        effect, name = children
        return ast.Expectation("effect", ast.Place(meta.line, meta.column), effect=effect.value,
                               target=_text(name) if name is not None else None)

    def expect_timer(self, meta, children) -> ast.Expectation:
        title, at = children[-2], children[-1]
        return ast.Expectation("timer", ast.Place(meta.line, meta.column), rule=_text(title), at=_datetime(at))

    def expect_error(self, meta, children) -> ast.Expectation:
        message = children[-1] if children else None
        return ast.Expectation("error", ast.Place(meta.line, meta.column),
                               target=_text(message) if message is not None else None)

    def related(self, meta, children) -> tuple[ast.Name, Any]:
        name, values = children
        return (ast.Name(name.value, _place(name)), values)

    def test(self, meta, children) -> dict[str, Any]:
        title, *rest = children
        related = tuple(c for c in rest if isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], ast.Name))
        entity, given, as_user, event, wait, *expectations = rest[len(related):]
        return {"kind": "test", "name": _text(title), "related": related,
                "entity": ast.Name(entity.value, _place(entity)),
                "given": given, "as_user": _text(as_user) if as_user is not None else None, "event": event,
                "wait_until": _datetime(wait), "expectations": tuple(expectations), "place": _place(title)}


def _datetime(token: Token | None) -> datetime | None:
    if token is None:
        return None
    try:
        value = datetime.fromisoformat(token.value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidToken(token, f"{token.value} is not a valid date and time", hint="write e.g. 2026-01-05T09:00+01:00") from None
    if value.tzinfo is None:
        raise InvalidToken(token, f"{token.value} has no time zone", hint="add Z for UTC or an offset like +01:00")
    return value
