"""The function registry: one class per expression function, with its type rule and both implementations.

A function is a ``Function`` subclass registered with ``register_function``
(duplicates are refused).  ``library.py`` holds the built-ins; the checker,
both compilers and the docs read the same registry.
"""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

from xrm.errors import XrmError
from xrm.rules.expr.nodes import Node


class Report(Protocol):
    """How a type rule reports a problem at a node (the checker collects them)."""

    def __call__(self, node: Node, message: str, *, expected: str | None = None,
                 found: str | None = None, hint: str | None = None) -> None: ...


class PythonTarget(Protocol):
    """What the Python compiler offers a function that builds its own code."""

    def const(self, value: Any) -> ast.expr: ...
    def cond(self, node: Node) -> ast.expr: ...
    def emit(self, node: Node) -> ast.expr: ...
    def temp(self) -> str: ...

    record: ast.expr
    context: ast.expr


class SqlTarget(Protocol):
    """What the SQL compiler offers a function."""

    def cond(self, node: Node) -> Any: ...
    def emit(self, node: Node) -> Any: ...
    def now(self) -> Any: ...
    def today(self) -> Any: ...


class Function(ABC):
    """An expression function.  Subclasses set the class attributes and implement the rules."""

    name: ClassVar[str]
    #: How people call it, for messages and docs: ``round(number, places?)``.
    signature: ClassVar[str]
    doc: ClassVar[str]
    min_args: ClassVar[int]
    max_args: ClassVar[int | None]
    #: A null argument gives a null result without calling ``runtime`` (the Python compiler adds the guard).
    strict: ClassVar[bool] = True
    #: Only in rule conditions (``changed``, ``previous``): needs the previous record.
    rule_only: ClassVar[bool] = False
    #: Reads the evaluation instant (``now``, ``today``).
    uses_now: ClassVar[bool] = False
    #: The Python implementation, called with the arguments' values (unless ``python`` is overridden).
    runtime: ClassVar[Callable[..., Any] | None] = None

    @abstractmethod
    def result_type(self, args: Sequence[Node], report: Report) -> str | None:
        """The result type for checked ``args``, or None after reporting why they do not fit."""

    def nullable(self, args: Sequence[Node]) -> bool:
        return any(a.nullable for a in args)

    def result_scale(self, args: Sequence[Node]) -> int | None:
        return None

    def python(self, args: list[ast.expr], nodes: Sequence[Node], py: PythonTarget) -> ast.expr:
        """Code computing the result from the arguments' code (already null-guarded when ``strict``)."""
        assert self.runtime is not None, f"{self.name} needs a runtime or its own python()"
        return ast.Call(py.const(self.runtime), args, [])

    @abstractmethod
    def sql(self, args: list[Any], nodes: Sequence[Node], sq: SqlTarget) -> Any:
        """The SQLAlchemy expression computing the result from the arguments' SQL."""


class DuplicateFunction(XrmError):
    def __init__(self, name: str) -> None:
        super().__init__(f"an expression function called {name!r} is already registered")
        self.name = name


_FUNCTIONS: dict[str, Function] = {}


def register_function(function: Function | type[Function]) -> Function | type[Function]:
    """Add a function (an instance or a class, so it works as a decorator); refuses duplicate names."""
    instance = function() if isinstance(function, type) else function
    if instance.name in _FUNCTIONS:
        raise DuplicateFunction(instance.name)
    _FUNCTIONS[instance.name] = instance
    return function


def unregister_function(name: str) -> None:
    """Remove a function (tests restore the registry with this)."""
    _FUNCTIONS.pop(name, None)


def get_function(name: str) -> Function | None:
    return _FUNCTIONS.get(name)


def functions() -> Mapping[str, Function]:
    """Every registered function by name (read-only)."""
    return MappingProxyType(_FUNCTIONS)
