"""What rules do: one module per family of actions, each registering how its syntax is checked.

``base`` holds the interfaces; ``fields`` (set, raise, start_workflow),
``owners`` (assign, move_to_queue, return_to_pool) change the record being
written, before it is written; ``effects`` (notify, create, add_to_campaign,
transition) act after it is written, when it has an id.
"""

from xrm.rules.actions import effects, fields, owners  # noqa: F401 - importing registers the actions
from xrm.rules.actions.base import COMPILERS, ActionRun, Outcome, RuleAction

__all__ = ["COMPILERS", "ActionRun", "Outcome", "RuleAction"]
