"""The expression AST: frozen dataclasses with a place; the checker fills in ``type``, ``nullable`` and ``scale``.

Positions are 1-based lines and columns of the node's first character (for a
binary operation, of its operator).  A parsed tree has ``type == ""``; the
checked tree is a copy with every node typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Node:
    """Base of every node: where it starts, and (once checked) its type."""

    line: int
    column: int
    type: str = ""
    #: False only when the value can never be null (literals, comparisons...).
    nullable: bool = True
    #: Decimal places of a decimal value, when known (used to keep SQLite floats honest).
    scale: int | None = None

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class Literal(Node):
    """A typed constant: ``kind`` is text, integer, decimal, boolean, null, date, datetime or duration."""

    kind: str
    value: Any


@dataclass(frozen=True)
class ListLiteral(Node):
    """``('a', 'b')`` — only meaningful on the right of ``in`` / ``not in``."""

    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True)
class Path(Node):
    """A field, possibly across lookups: ``account.owner.region``.

    After checking, ``targets[i]`` is the entity whose field ``names[i]`` is.
    """

    names: tuple[str, ...]
    #: (line, column) of each name, so an unknown name deep in a path is pointed at exactly.
    places: tuple[tuple[int, int], ...] = ()
    targets: tuple[str, ...] = ()

    @property
    def dotted(self) -> str:
        return ".".join(self.names)


@dataclass(frozen=True)
class Unary(Node):
    """``not x`` or ``-x``."""

    op: str
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Binary(Node):
    """Every two-operand operator: and, or, comparisons, in, matching, arithmetic."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class IsEmpty(Node):
    """``x is empty`` / ``x is not empty``."""

    operand: Node
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Call(Node):
    """A function call: ``days_between(created, today())``; ``if`` is a function too."""

    name: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
MATCHES = frozenset({"like", "contains", "starts_with", "ends_with"})
MEMBERSHIP = frozenset({"in", "not in"})
ARITHMETIC = frozenset({"+", "-", "*", "/"})
LOGICAL = frozenset({"and", "or"})


def walk(node: Node):
    """Every node of a tree, parents before children (iterative: trees can be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


def start(node: Node) -> tuple[int, int]:
    """Where the source text of ``node`` begins (a binary node's own place is its operator)."""
    while isinstance(node, Binary):
        node = node.left
    return node.line, node.column
