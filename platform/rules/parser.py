"""``.rules`` text → ``xrm.rules.ast``: the lark grammar (loaded once), a Transformer, friendly syntax errors.

Syntax errors come back as ``PackProblem``s with file, line, column and a
caret excerpt, like every other problem of a pack.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

from xrm.metadata.problems import PackProblem
from xrm.rules import ast
from xrm.rules.expr.errors import excerpt
from xrm.rules.expr.parser import TERMINAL_NAMES as EXPRESSION_TERMINALS
from xrm.rules.syntax_tree import InvalidToken, ToRules

MAX_FILE_LENGTH = 500_000

#: How the rules' own terminals read in "expected ..." messages.
TERMINAL_NAMES = {
    **EXPRESSION_TERMINALS, "TITLE": 'a name in double quotes: "West leads round robin"',
    "SIGNED_INT": "a whole number", "CLOCK": "a time of day like 08:00", "STOP": "'stop'",
    "LBRACE": "'{'", "RBRACE": "'}'", "COLON": "':'", "EQUAL": "'='", "$END": "the end of the file",
}
#: Keywords that may start an action: a missing 'then' before one of them gets a hint.
ACTION_WORDS = frozenset({"set", "assign", "notify", "create", "add_to_campaign", "transition", "start_workflow",
                          "move_to_queue", "raise", "return_to_pool"})
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")
_source: ContextVar[str] = ContextVar("rules_source", default="")


class RuleSyntaxError(Exception):
    def __init__(self, problem: PackProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _whole_word(token: Token) -> Token:
    """A keyword glued to more letters (``raisepriority``) is not the keyword."""
    text = _source.get()
    end = token.end_pos or 0
    if end < len(text) and _WORD_CHAR.match(text[end]):
        word = re.match(r"[A-Za-z0-9_]*", text[token.start_pos or 0:]).group(0)  # type: ignore[union-attr]
        raise InvalidToken(token, f"'{word}' is not a word of the rules language",
                       hint=f"put a space after '{token.value}'" if word.startswith(token.value) else None)
    return token


@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The LALR parser of the rules language, built once per process."""
    folder = resources.files("xrm.rules")
    text = folder.joinpath("rules.lark").read_text(encoding="utf-8")
    probe = Lark(text, parser="lalr", lexer="contextual", import_paths=[str(folder)])
    keywords = {t.name: _whole_word for t in probe.terminals
                if isinstance(t.pattern, PatternStr) and t.pattern.value.replace("_", "").isalpha()}
    return Lark(text, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=True,
                import_paths=[str(folder)], lexer_callbacks=keywords)


def _expected(names: set[str] | frozenset[str]) -> str | None:
    readable = sorted({TERMINAL_NAMES.get(n.split("__")[-1], f"'{n.split('__')[-1].lower()}'") for n in names
                       if not n.startswith("__ANON")})
    if len(readable) > 12:
        return None
    return ", ".join(readable) or None


def _problem(file: str, source: str, line: int, column: int, message: str, **details: Any) -> PackProblem:
    return PackProblem(file, message, line=line, column=column, excerpt=excerpt(source, line, column), **details)


def _syntax_problem(file: str, source: str, exc: UnexpectedInput) -> PackProblem:
    line, column = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else ""
        hint = ("rule and test names go in double quotes, text in single quotes" if char in "\"'" else None)
        return _problem(file, source, line, column, f"unexpected character {char!r}",
                        expected=_expected(exc.allowed or set()), found=char, hint=hint, code="syntax")
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = source.splitlines() or [""]
        return _problem(file, source, len(lines), len(lines[-1]) + 1, "the file ends in the middle of a rule",
                        expected=_expected(exc.expected), found="the end of the file", code="syntax")
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    hint = None
    if "THEN" in (exc.accepts or exc.expected) and (token.type == "NAME" or str(token.value) in ACTION_WORDS):
        hint = "a rule needs 'then' before its actions"
    elif str(token.value).startswith('"') and "STRING" in (exc.accepts or exc.expected):
        hint = "text goes in single quotes: 'like this'"
    return _problem(file, source, line, column, f"unexpected {token.value!r}",
                    expected=_expected(exc.accepts or exc.expected), found=str(token.value), hint=hint, code="syntax")


def parse_rules(path: str, text: str) -> ast.RuleFileSyntax:
    """Parse one rule file; raises ``RuleSyntaxError`` carrying the first syntax problem."""
    if len(text) > MAX_FILE_LENGTH:
        raise RuleSyntaxError(_problem(path, text, 1, 1, f"the file is longer than {MAX_FILE_LENGTH} characters",
                                       code="syntax"))
    marker = _source.set(text)
    try:
        tree = grammar().parse(text)
    except UnexpectedInput as exc:
        raise RuleSyntaxError(_syntax_problem(path, text, exc)) from None
    except InvalidToken as inner:
        raise RuleSyntaxError(_problem(path, text, inner.token.line, inner.token.column, inner.message,
                                       found=str(inner.token.value), hint=inner.hint, code="syntax")) from None
    finally:
        _source.reset(marker)
    try:
        items = ToRules(text).transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, InvalidToken):
            raise RuleSyntaxError(_problem(path, text, inner.token.line, inner.token.column, inner.message,
                                           found=str(inner.token.value), hint=inner.hint, code="syntax")) from None
        raise
    rules, templates, tests = [], [], []
    for item in items.children if isinstance(items, Tree) else items:
        kind = item.pop("kind")
        if kind == "rule":
            rules.append(ast.Rule(**item, file=path))
        elif kind == "notification":
            templates.append(ast.NotificationTemplate(**item, file=path))
        else:
            tests.append(ast.RuleTest(**item, file=path))
    return ast.RuleFileSyntax(path, text, tuple(rules), tuple(templates), tuple(tests))
