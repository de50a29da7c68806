"""Naming people in rules: ``owner``, ``owner.manager``, a user field (``approver``), a lookup's user
field (``territory.manager``), each optionally followed by ``.manager``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from xrm.rules import ast
from xrm.rules.actions.base import ActionCheck, ActionRun
from xrm.rules.expr import CheckedExpression
from xrm.system_tables import users

OWNER = "owner"


@dataclass(frozen=True)
class UserPath:
    """Where to find a user on the record; ``manager`` climbs to that user's manager."""

    text: str
    expression: CheckedExpression | None  # None: the record's owner
    manager: bool

    def resolve(self, run: ActionRun, record: dict[str, Any]) -> int | None:
        if self.expression is None:  # the owner; or whoever had it, when the rule just returned it to a pool
            user_id = record.get("owner_id") or record.get("last_owner_id")
        else:
            user_id = run.evaluate(self.expression, record)
        if user_id is None or not self.manager:
            return user_id
        return run.connection.execute(select(users.c.manager).where(users.c.id == user_id)).scalar()


def user_path(text: str, place: ast.Place, check: ActionCheck) -> UserPath | None:
    """Check ``text`` names a user of the rule's record; report and return None when not."""
    parts = text.split(".")
    whole = _user_expression(text, check)
    if whole is not None:  # territory.manager: a lookup's user field called manager
        return UserPath(text, whole, False)
    manager = len(parts) > 1 and parts[-1] == "manager"
    base = ".".join(parts[:-1]) if manager else text
    if base == OWNER:
        return UserPath(text, None, manager)
    expression = check.expression(ast.Source(base, place))
    if expression is None:
        return None
    if expression.type not in ("user", "ref:user"):
        check.report(place, f"'{base}' is not a user", expected="owner, owner.manager, a user field or "
                     "a lookup's user field (territory.manager)", found=expression.type, code="not_a_user")
        return None
    return UserPath(text, expression, manager)


def _user_expression(text: str, check: ActionCheck) -> CheckedExpression | None:
    """``text`` as a user-typed path of the rule's record, if it is one (nothing is reported)."""
    from xrm.rules.expr import ExpressionError, check_expression

    try:
        expression = check_expression(text, check.entity, check.catalog.entities, rule_context=True)
    except ExpressionError:
        return None
    return expression if expression.type in ("user", "ref:user") else None
