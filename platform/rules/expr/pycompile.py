"""Checked tree → a Python function over a record, built as ``ast`` nodes and compiled once.

No source text is ever assembled: every constant goes into the tree as an
``ast.Constant`` (str, int, bool, None) or into the function's globals under a
generated name (decimals, dates, compiled patterns, helpers).  The code object
is run through ``types.FunctionType``; nothing is evaluated.

Worked example: ``amount > 1000 and region in ('west', 'east')`` becomes, in effect::

    def expression(r, c=None):
        return ((_t0 := r.get('amount')) is not None and _t0 > 1000
                and (_t1 := r.get('region')) is not None and _t1 in _k0)   # _k0 = frozenset({'west', 'east'})
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable, Mapping
from typing import Any

from xrm.rules.expr import runtime
from xrm.rules.expr.functions import get_function
from xrm.rules.expr.nodes import Binary, Call, IsEmpty, ListLiteral, Literal, Node, Path, Unary, walk
from xrm.rules.expr.types import BOOLEAN, DATE, DATETIME, LIST, TEXT, ref_target

_COMPARE = {"=": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE}
_ARITHMETIC = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult}
_PLAIN_CONSTANTS = (str, int, bool, type(None))

Evaluator = Callable[..., Any]


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def _is_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.Is()], [ast.Constant(None)])


def _is_not_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.IsNot()], [ast.Constant(None)])


def _and(*parts: ast.expr) -> ast.expr:
    return parts[0] if len(parts) == 1 else ast.BoolOp(ast.And(), list(parts))


_NOTHING, _ONLY_NOW, _RECORD = 0, 1, 2


def _reads(node: Node) -> int:
    """What a subtree depends on: nothing (a constant), only the evaluation instant, or the record."""
    reads = _NOTHING
    for child in walk(node):
        if isinstance(child, Path):
            return _RECORD
        if isinstance(child, Call):
            function = get_function(child.name)
            if function is None or function.rule_only:
                return _RECORD
            if function.uses_now:
                reads = _ONLY_NOW
    return reads


class PerInstant:
    """A subtree that reads only now()/today(), recomputed only when the context's instant changes."""

    __slots__ = ("_compute", "_now", "_value")

    def __init__(self, compute: Evaluator) -> None:
        self._compute, self._now, self._value = compute, None, None

    def __call__(self, context: Mapping[str, Any] | None) -> Any:
        now = context.get("now") if context is not None else None
        if now is None:  # the clock moves: no memo
            return self._compute({}, context)
        if now is not self._now:
            self._value, self._now = self._compute({}, context), now
        return self._value


class PythonCompiler:
    """Compiles one checked tree; ``namespace`` becomes the function's globals."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"__builtins__": {}}
        #: the tree being compiled (never folded into itself)
        self.root: Node | None = None
        self._constants: dict[int, str] = {}
        self._temps = 0
        self.record: ast.expr = _name("r")
        self.context: ast.expr = _name("c")
        self._emitters: dict[type[Node], Callable[[Any], ast.expr]] = {
            Literal: self._literal, ListLiteral: self._list, Path: self._path, Unary: self._unary,
            Binary: self._binary, IsEmpty: self._is_empty, Call: self._call,
        }

    # -- services for functions -----------------------------------------------------------------------------

    def const(self, value: Any) -> ast.expr:
        """A reference to ``value``: inline when plain, else a global of the compiled function."""
        if isinstance(value, _PLAIN_CONSTANTS):
            return ast.Constant(value)
        key = id(value)
        if key not in self._constants:
            name = f"_k{len(self._constants)}"
            self._constants[key] = name
            self.namespace[name] = value
        return _name(self._constants[key])

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def emit(self, node: Node) -> ast.expr:
        if node is not self.root and not isinstance(node, (Literal, ListLiteral, Path)):
            reads = _reads(node)
            if reads == _NOTHING:  # e.g. 2024-01-01 + 3d: computed once, here
                return self.const(compile_python(node)({}, None))
            if reads == _ONLY_NOW:  # e.g. today() + 30d: computed once per evaluation instant
                return ast.Call(self.const(PerInstant(compile_python(node))), [self.context], [])
        return self._emitters[type(node)](node)

    def cond(self, node: Node) -> ast.expr:
        """Code that is exactly True or False: a null condition does not hold."""
        code = self.emit(node)
        if node.nullable:
            return ast.Compare(code, [ast.Is()], [ast.Constant(True)])
        return code

    def _bind(self, node: Node) -> tuple[ast.expr, list[ast.expr]]:
        """(a reference to the node's value, null guards to check first) — a walrus temp when nullable."""
        code = self.emit(node)
        if not node.nullable:
            return code, []
        name = self.temp()
        return _name(name), [_is_not_none(ast.NamedExpr(ast.Name(name, ast.Store()), code))]

    def _strict(self, nodes: list[Node], build: Callable[[list[ast.expr]], ast.expr]) -> ast.expr:
        """``None`` if any operand is null, else ``build(operands)``."""
        refs, guards = [], []
        for node in nodes:
            ref, guard = self._bind(node)
            refs.append(ref)
            guards += guard
        body = build(refs)
        if not guards:
            return body
        return ast.IfExp(_and(*guards), body, ast.Constant(None))

    def _predicate(self, nodes: list[Node], build: Callable[[list[ast.expr]], ast.expr]) -> ast.expr:
        """False if any operand is null, else ``build(operands)`` (which is True or False)."""
        refs, guards = [], []
        for node in nodes:
            ref, guard = self._bind(node)
            refs.append(ref)
            guards += guard
        return _and(*guards, build(refs))

    # -- nodes ----------------------------------------------------------------------------------------------

    def _literal(self, node: Literal) -> ast.expr:
        return self.const(node.value)

    def _list(self, node: ListLiteral) -> ast.expr:
        return self.const(frozenset(item.value for item in node.items))  # type: ignore[attr-defined]

    def _path(self, node: Path) -> ast.expr:
        code: ast.expr = ast.Call(ast.Attribute(self.record, "get", ast.Load()), [ast.Constant(node.names[0])], [])
        for name in node.names[1:]:
            holder = self.temp()  # None if (h := <previous>) is None else h.get(name)
            store = ast.NamedExpr(ast.Name(holder, ast.Store()), code)
            step = ast.Call(ast.Attribute(_name(holder), "get", ast.Load()), [ast.Constant(name)], [])
            code = ast.IfExp(_is_none(store), ast.Constant(None), step)
        if ref_target(node.type) is not None:
            code = ast.Call(self.const(runtime.ref_id), [code], [])
        return code

    def _unary(self, node: Unary) -> ast.expr:
        if node.op == "not":
            return ast.UnaryOp(ast.Not(), self.cond(node.operand))
        return self._strict([node.operand], lambda refs: ast.UnaryOp(ast.USub(), refs[0]))

    def _binary(self, node: Binary) -> ast.expr:
        op = node.op
        if op in ("and", "or"):
            kind = ast.And() if op == "and" else ast.Or()
            return ast.BoolOp(kind, [self.cond(node.left), self.cond(node.right)])
        if op in _COMPARE:
            return self._predicate([node.left, node.right],
                                   lambda r: ast.Compare(r[0], [_COMPARE[op]()], [r[1]]))
        if op in ("in", "not in"):
            return self._membership(node)
        if op in ("like", "contains", "starts_with", "ends_with"):
            return self._match(node)
        return self._arithmetic(node)

    def _membership(self, node: Binary) -> ast.expr:
        negate = node.op == "not in"
        if node.right.type == LIST and not isinstance(node.right, ListLiteral):
            # a multi-select field: a null list is the empty list, a null value is never a member
            has = lambda r: ast.Call(self.const(runtime.list_has), [self.emit(node.right), r[0]], [])  # noqa: E731
            inner = lambda r: ast.UnaryOp(ast.Not(), has(r)) if negate else has(r)  # noqa: E731
            return self._predicate([node.left], inner)
        op = ast.NotIn() if negate else ast.In()
        return self._predicate([node.left], lambda r: ast.Compare(r[0], [op], [self.emit(node.right)]))

    def _match(self, node: Binary) -> ast.expr:
        if node.op == "contains" and node.left.type == LIST:
            return self._predicate([node.right],
                                   lambda r: ast.Call(self.const(runtime.list_has), [self.emit(node.left), r[0]], []))
        if node.op == "like":
            pattern = runtime.like_pattern(node.right.value)  # type: ignore[attr-defined]
            matcher = ast.Attribute(self.const(pattern), "fullmatch", ast.Load())
            return self._predicate([node.left], lambda r: _is_not_none(ast.Call(matcher, [r[0]], [])))
        lower = self.const(runtime.ascii_lower)
        if isinstance(node.right, Literal):
            needle: ast.expr = ast.Constant(runtime.ascii_lower(node.right.value))
            operands = [node.left]
        else:
            needle, operands = None, [node.left, node.right]  # type: ignore[assignment]

        already_folded = isinstance(node.left, Call) and node.left.name == "lower"

        def build(refs: list[ast.expr]) -> ast.expr:
            text = refs[0]
            # text.lower() for ASCII text (the common case, no helper call), else the ASCII-only helper
            folded = text if already_folded else ast.IfExp(ast.Call(ast.Attribute(text, "isascii", ast.Load()), [], []),
                               ast.Call(ast.Attribute(text, "lower", ast.Load()), [], []),
                               ast.Call(lower, [text], []))
            wanted = needle if needle is not None else ast.Call(lower, [refs[1]], [])
            if node.op == "contains":
                return ast.Compare(wanted, [ast.In()], [folded])
            method = "startswith" if node.op == "starts_with" else "endswith"
            return ast.Call(ast.Attribute(folded, method, ast.Load()), [wanted], [])

        return self._predicate(operands, build)

    def _arithmetic(self, node: Binary) -> ast.expr:
        left, right, op = node.left, node.right, node.op
        if op == "/":
            return ast.Call(self.const(runtime.divide), [self.emit(left), self.emit(right)], [])
        if left.type == DATETIME and right.type == DATETIME:
            return self._strict([left, right], lambda r: ast.Call(self.const(runtime.seconds_between), r, []))
        if node.type in (DATE, DATETIME):
            helper = runtime.add_to_date if node.type == DATE else runtime.add_to_datetime
            moment, span = (left, right) if left.type in (DATE, DATETIME) else (right, left)

            def shift(refs: list[ast.expr]) -> ast.expr:
                seconds = ast.UnaryOp(ast.USub(), refs[1]) if op == "-" else refs[1]
                return ast.Call(self.const(helper), [refs[0], seconds], [])

            return self._strict([moment, span], shift)
        return self._strict([left, right], lambda r: ast.BinOp(r[0], _ARITHMETIC[op](), r[1]))

    def _is_empty(self, node: IsEmpty) -> ast.expr:
        operand = node.operand
        code = self.emit(operand)
        if operand.type == LIST:
            test: ast.expr = ast.UnaryOp(ast.Not(), code)
        elif operand.type == TEXT:
            test = ast.Compare(code, [ast.In()], [ast.Tuple([ast.Constant(None), ast.Constant("")], ast.Load())])
        else:
            test = _is_none(code)
        return ast.UnaryOp(ast.Not(), test) if node.negated else test

    def _call(self, node: Call) -> ast.expr:
        function = get_function(node.name)
        assert function is not None, "the checker resolved every function"
        if not function.strict:
            return function.python([self.emit(a) for a in node.args], node.args, self)
        return self._strict(list(node.args), lambda refs: function.python(refs, node.args, self))


def compile_python(tree: Node, *, name: str = "expression") -> Evaluator:
    """A function ``f(record, context=None)`` computing the checked ``tree``.

    ``context`` is an optional mapping: ``now`` (an aware datetime: the instant
    for now()/today()) and, in rules, ``previous`` (the record before the change).
    """
    compiler = PythonCompiler()
    compiler.root = tree
    body = compiler.cond(tree) if tree.type == BOOLEAN and not tree.nullable else compiler.emit(tree)
    arguments = ast.arguments(posonlyargs=[], args=[ast.arg("r"), ast.arg("c")], kwonlyargs=[], kw_defaults=[],
                              defaults=[ast.Constant(None)])
    function = ast.FunctionDef(name, arguments, [ast.Return(body)], [], None, None, type_params=[]) \
        if _HAS_TYPE_PARAMS else ast.FunctionDef(name, arguments, [ast.Return(body)], [], None, None)
    module = ast.Module([function], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, f"<expression {name}>", "exec")
    function_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    return types.FunctionType(function_code, compiler.namespace, name, (None,))


_HAS_TYPE_PARAMS = "type_params" in ast.FunctionDef._fields


def evaluate(evaluator: Evaluator, record: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Any:
    """Run a compiled expression (a readable alias for ``evaluator(record, context)``)."""
    return evaluator(record, context)


__all__ = ["Evaluator", "PythonCompiler", "compile_python", "evaluate"]
