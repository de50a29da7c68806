"""SQL building blocks whose text differs between SQLite and PostgreSQL (``@compiles`` per dialect).

Each element renders only its own fixed SQL around sub-expressions that the
SQL compiler built from metadata columns and bound parameters; no user text is
ever pasted into SQL.  Dialects other than SQLite get the PostgreSQL form.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


class _Part(FunctionElement):
    """A dialect-dependent piece: arguments are SQL expressions, ``type_`` is the result type."""

    inherit_cache = True

    def __init__(self, *args: Any, type_: TypeEngine[Any] | None = None) -> None:
        super().__init__(*args)
        if type_ is not None:
            self.type = type_


def _args(element: _Part, compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


def _register(cls: type[_Part], sqlite: str, postgresql: str) -> None:
    """Compile ``cls`` from two templates whose ``{0}``, ``{1}``... are the compiled arguments."""

    def render(template: str):  # noqa: ANN202
        def compile_part(element: _Part, compiler: Any, **kw: Any) -> str:
            return template.format(*_args(element, compiler, **kw))
        return compile_part

    compiles(cls)(render(postgresql))
    compiles(cls, "sqlite")(render(sqlite))


class ascii_lower(_Part):  # noqa: N801  (SQL function style)
    name = "xrm_ascii_lower"
    inherit_cache = True


class ascii_upper(_Part):  # noqa: N801
    name = "xrm_ascii_upper"
    inherit_cache = True


class like_ascii(_Part):  # noqa: N801
    """``x LIKE pattern ESCAPE '\\'`` ignoring ASCII case only (SQLite's own LIKE rule, imitated on PostgreSQL)."""

    name = "xrm_like"
    inherit_cache = True


class text_order(_Part):  # noqa: N801
    """Compare text by code point (PostgreSQL's collation would otherwise decide)."""

    name = "xrm_text_order"
    inherit_cache = True


class add_days(_Part):  # noqa: N801
    """date + the whole days in a duration of seconds."""

    name = "xrm_add_days"
    inherit_cache = True


class add_seconds(_Part):  # noqa: N801
    """instant + seconds; on SQLite keeps SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff' text so comparisons stay textual."""

    name = "xrm_add_seconds"
    inherit_cache = True


class seconds_between(_Part):  # noqa: N801
    """later - earlier in whole seconds, truncated toward zero (a duration)."""

    name = "xrm_seconds_between"
    inherit_cache = True


class days_between(_Part):  # noqa: N801
    name = "xrm_days_between"
    inherit_cache = True


class list_has(_Part):  # noqa: N801
    """A JSON list column holds a text value (false for null lists)."""

    name = "xrm_list_has"
    inherit_cache = True


class list_length(_Part):  # noqa: N801
    """Items in a JSON list column; 0 for SQL null and JSON null."""

    name = "xrm_list_length"
    inherit_cache = True


class divide(_Part):  # noqa: N801
    """a / b rounded to 10 places, null when b is 0."""

    name = "xrm_divide"
    inherit_cache = True


class round_to(_Part):  # noqa: N801
    name = "xrm_round"
    inherit_cache = True


class exact(_Part):  # noqa: N801
    """Decimal arithmetic on SQLite is float arithmetic: round back to the known scale. A no-op elsewhere."""

    name = "xrm_exact"
    inherit_cache = True


_register(ascii_lower, "lower({0})", f"translate({{0}}, '{_UPPER}', '{_LOWER}')")
_register(ascii_upper, "upper({0})", f"translate({{0}}, '{_LOWER}', '{_UPPER}')")
_register(like_ascii, "({0} LIKE {1} ESCAPE '\\')",
          f"(translate({{0}}, '{_UPPER}', '{_LOWER}') LIKE translate({{1}}, '{_UPPER}', '{_LOWER}') ESCAPE '\\')")
_register(text_order, "{0}", '({0} COLLATE "C")')
# durations are seconds; integer division truncates toward zero on both, like runtime.whole_days
_register(add_days, "date({0}, CAST(CAST({1} AS INTEGER) / 86400 AS TEXT) || ' days')",
          "({0} + CAST(CAST({1} AS BIGINT) / 86400 AS INTEGER))")
# the fraction is cut off before SQLite's millisecond arithmetic (which would round .9996 up) and put back after
_register(add_seconds,
          "(strftime('%Y-%m-%d %H:%M:%S', substr({0}, 1, 19), CAST({1} AS TEXT) || ' seconds') || substr({0}, 20))",
          "({0} + {1} * INTERVAL '1 second')")
# SQLite: whole seconds from the 'YYYY-MM-DD HH:MM:SS' part, plus the difference of the '.ffffff' fractions;
# CAST AS INTEGER truncates toward zero, as does the PostgreSQL side's TRUNC
_register(seconds_between,
          "CAST((strftime('%s', substr({0}, 1, 19)) - strftime('%s', substr({1}, 1, 19)))"
          " + (CAST('0' || substr({0}, 20) AS REAL) - CAST('0' || substr({1}, 20) AS REAL)) AS INTEGER)",
          "CAST(TRUNC(EXTRACT(EPOCH FROM ({0} - {1}))) AS BIGINT)")
_register(days_between, "CAST(julianday({1}) - julianday({0}) AS INTEGER)", "({1} - {0})")
_register(list_has, "EXISTS (SELECT 1 FROM json_each({0}) WHERE json_each.value = {1})",
          "COALESCE(CAST({0} AS JSONB) @> jsonb_build_array(CAST({1} AS TEXT)), false)")
_register(list_length, "COALESCE(json_array_length({0}), 0)",
          "(CASE WHEN json_typeof({0}) = 'array' THEN json_array_length({0}) ELSE 0 END)")
_register(divide, "ROUND(CAST({0} AS REAL) / NULLIF({1}, 0), 10)",
          "ROUND(CAST({0} AS NUMERIC(38, 16)) / NULLIF({1}, 0), 10)")
_register(round_to, "ROUND({0}, {1})", "ROUND(CAST({0} AS NUMERIC), {1})")
_register(exact, "ROUND({0}, {1})", "{0}")



class least(_Part):  # noqa: N801
    """The smallest non-null argument (PostgreSQL's LEAST; SQLite's min() would return null on any null)."""

    name = "xrm_least"
    inherit_cache = True


class greatest(_Part):  # noqa: N801
    name = "xrm_greatest"
    inherit_cache = True


def _extreme(sqlite_function: str, postgresql_function: str) -> tuple:
    def on_sqlite(element: _Part, compiler: Any, **kw: Any) -> str:
        args = _args(element, compiler, **kw)
        # min(coalesce(a, b, c), coalesce(b, a, c), ...): each null is replaced by another argument
        rotated = [", ".join([arg, *(a for a in args if a is not arg)]) for arg in args]
        return f"{sqlite_function}({', '.join(f'coalesce({r})' for r in rotated)})"

    def on_postgresql(element: _Part, compiler: Any, **kw: Any) -> str:
        return f"{postgresql_function}({', '.join(_args(element, compiler, **kw))})"

    return on_sqlite, on_postgresql


for _cls, _names in ((least, ("min", "LEAST")), (greatest, ("max", "GREATEST"))):
    _on_sqlite, _on_postgresql = _extreme(*_names)
    compiles(_cls)(_on_postgresql)
    compiles(_cls, "sqlite")(_on_sqlite)
