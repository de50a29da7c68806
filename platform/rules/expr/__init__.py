"""The expression language: one typed, compiled language for every condition and computed value.

Pipeline: ``grammar.lark`` → ``parser`` (Transformer → frozen AST with line and
column) → ``checker`` (types against entity metadata, collects every problem)
→ two compilers: ``pycompile`` (a Python function over a record) and
``sqlcompile`` (SQLAlchemy Core with LEFT OUTER JOINs for lookup paths).
Functions live in a registry (``functions``, built-ins in ``library``).

Records (Python side).  The callable is ``checked.python(record, context=None)``.
``record`` is a mapping of field names (and system columns) to values as the
database layer returns them: str, int, Decimal, bool, date, aware datetime,
durations as int seconds, multi-select values as lists of strings.  Under a
lookup field's name the record holds None or the related record as a nested
mapping with its own fields (and ``id``); ``checked.lookups`` lists the paths an
expression needs expanded.  A missing key reads as null.  ``context`` is an
optional mapping: ``"now"`` (an aware datetime, the instant used by now() and
today(); the clock when absent) and, for rule conditions, ``"previous"`` (the
record before the change, None on create).  The SQL side takes the same
instant: ``checked.sql(tables, now=...)`` binds it as a parameter.

Null semantics (identical in both compilations).  Any value may be null
(empty).  A comparison (=, !=, <, <=, >, >=), in / not in, like, contains,
starts_with and ends_with is *false* when an operand is null, so
``region != 'west'`` does not hold for a lead without a region, while
``not (region = 'west')`` does.  Every condition is therefore true or false,
never unknown: ``not``, ``and``, ``or`` are ordinary two-valued logic, and
a boolean field that is null counts as false where a condition is expected.
``x is empty`` is true for null, for the empty text '' and for an empty
multi-select list; ``is not empty`` is its negation.  A null multi-select list
is the empty list (``'vip' not in tags`` holds when tags is empty).
Arithmetic and text functions with a null operand give null (``amount * 2``
is null when amount is); division by zero gives null.  ``concat`` treats null
as ''; ``coalesce``, ``min`` and ``max`` skip nulls; ``if`` takes its else
branch when the condition is null.  Comparing with the literal ``null`` is a
check-time error (write ``is empty``).

Other definitions both sides share.  Text matching (like, contains,
starts_with, ends_with) ignores the case of ASCII letters only, and lower() /
upper() change ASCII letters only (what SQLite can do); ``like`` takes a
quoted pattern with ``%``, ``_`` and ``\\`` as escape, the other three match
their argument literally.  Text ordering is by code point.  Division gives a
decimal rounded half away from zero to 10 places; round() rounds half away
from zero.  ``date ± duration`` moves by the duration's whole days (truncated
toward zero); ``datetime ± duration`` by its seconds; today() is the UTC date.
"""

from xrm.rules.expr.errors import ExpressionError, Problem
from xrm.rules.expr.expression import CheckedExpression, check_expression
from xrm.rules.expr.functions import DuplicateFunction, Function, functions, get_function, register_function
from xrm.rules.expr.parser import parse
from xrm.rules.expr.sqlcompile import SqlExpression

__all__ = [
    "CheckedExpression",
    "DuplicateFunction",
    "ExpressionError",
    "Function",
    "Problem",
    "SqlExpression",
    "check_expression",
    "functions",
    "get_function",
    "parse",
    "register_function",
]
