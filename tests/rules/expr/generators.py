"""Hypothesis strategies: well-typed expression sources over the test lead, and lead rows with awkward values.

Ranges are chosen where both databases represent values exactly or, for
SQLite's float decimals, within 15 significant digits (revenue below a
million, integers below ten thousand, decimal products only by small
constants).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache

from hypothesis import strategies as st

TEXT_ALPHABET = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
AWKWARD_TEXT = ["", " ", "a", "A", "abc", "ABC", "É", "é", "ß", "straße", "%", "_", "\\", "50%_off", " x ", "Zz",
                "@acme.com", "bob@ACME.com", "ünï", "日本", "a'b"]
TAGS = ["vip", "partner", "press", "churn_risk"]
STATUSES = ["new", "working", "qualified", "lost"]
BOUNDARY_DATES = [date(1970, 1, 1), date(2000, 2, 29), date(1999, 12, 31), date(2024, 2, 29), date(2038, 1, 19),
                  date(1900, 3, 1), date(2099, 12, 31), date(2024, 3, 31)]
BOUNDARY_DECIMALS = [Decimal("0.00"), Decimal("-0.01"), Decimal("0.01"), Decimal("999999.99"), Decimal("-999999.99"),
                     Decimal("1000.00"), Decimal("2.50"), Decimal("0.05")]

texts = st.one_of(st.sampled_from(AWKWARD_TEXT), st.text(TEXT_ALPHABET, max_size=6))
dates = st.one_of(st.sampled_from(BOUNDARY_DATES), st.dates(date(1900, 1, 1), date(2100, 12, 31)))
instants = st.datetimes(datetime(1971, 1, 1), datetime(2099, 1, 1), timezones=st.just(UTC))
revenues = st.one_of(st.sampled_from(BOUNDARY_DECIMALS),
                     st.decimals(Decimal("-999999.99"), Decimal("999999.99"), places=2))
scores = st.decimals(Decimal("-99999.999"), Decimal("99999.999"), places=3)
small_ints = st.integers(-10_000, 10_000)
durations = st.integers(-3_000_000, 3_000_000)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Null about one time in four."""
    return st.one_of(strategy, st.none(), strategy, strategy)


@st.composite
def leads(draw: st.DrawFn, count: int = 50) -> list[dict]:
    """``count`` lead rows (ids 1..count) with nulls, empty strings, unicode and boundary values."""
    rows = []
    for index in range(1, count + 1):
        rows.append({
            "id": index,
            "last_name": draw(maybe(texts)), "email": draw(maybe(texts)),
            "country": draw(maybe(st.sampled_from(["", "DE", "de", "US", "FR", "é"]))),
            "employees": draw(maybe(small_ints)), "annual_revenue": draw(maybe(revenues)),
            "score": draw(maybe(scores)), "is_hot": draw(maybe(st.booleans())),
            "close_date": draw(maybe(dates)), "last_activity_at": draw(maybe(instants)),
            "response_time": draw(maybe(durations)), "status": draw(maybe(st.sampled_from(STATUSES))),
            "rating": draw(maybe(st.sampled_from(["hot", "warm", "cold"]))),
            "tags": draw(st.one_of(st.none(), st.just([]), st.lists(st.sampled_from(TAGS), unique=True, max_size=3))),
            "account": draw(maybe(st.sampled_from([1, 2, 3]))),
            "created_at": draw(instants),
        })
    return rows


def quote(text: str) -> str:
    """A DSL string literal for ``text``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def duration_literal(seconds: int) -> str:
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n] or ["0m"]
    return sign + " ".join(parts)


PICKLISTS = {"status": STATUSES, "rating": ["hot", "warm", "cold"], "account.region": ["west", "east", "north"]}

FIELDS = {
    # picklists are text too, but a constant compared with one must be one of its values: see PICKLISTS
    "text": ["last_name", "email", "country", "account.name", "account.industry", "account.parent_account.industry"],
    "integer": ["employees", "account.employees", "account.parent_account.employees", "id"],
    "decimal": ["annual_revenue", "score"],
    "boolean": ["is_hot"],
    "date": ["close_date"],
    "datetime": ["last_activity_at", "created_at"],
    "duration": ["response_time"],
}


def literal(kind: str) -> st.SearchStrategy[str]:
    return {
        "text": texts.map(quote),
        "integer": small_ints.map(str),
        "decimal": st.one_of(revenues, scores).map(str),
        "boolean": st.sampled_from(["true", "false"]),
        "date": dates.map(str),
        "datetime": st.one_of(
            instants.map(lambda d: d.isoformat().replace("+00:00", "Z")),
            st.builds(lambda d, h: d.astimezone(timezone(timedelta(hours=h))).isoformat(), instants,
                      st.integers(-12, 14))),
        "duration": durations.map(duration_literal),
    }[kind]


def leaf(kind: str) -> st.SearchStrategy[str]:
    extra = {"date": [st.just("today()")], "datetime": [st.just("now()")]}.get(kind, [])
    fields = st.sampled_from(FIELDS[kind])
    return st.one_of(fields, literal(kind), fields, *extra)


@cache
def expression(kind: str, depth: int = 3) -> st.SearchStrategy[str]:
    """Source text of a well-typed expression of type ``kind``."""
    if depth <= 0:
        return leaf(kind)
    sub = lambda k: expression(k, depth - 1)  # noqa: E731
    parens = lambda s: s.map(lambda x: f"({x})")  # noqa: E731
    common = [
        leaf(kind), leaf(kind), leaf(kind),
        st.builds(lambda c, a, b: f"if({c}, {a}, {b})", sub("boolean"), sub(kind), sub(kind)),
        st.builds(lambda a, b: f"coalesce({a}, {b})", sub(kind), sub(kind)),
    ]
    specific = {
        "boolean": [
            st.builds(lambda a, op, b: f"{a} {op} {b}", sub("integer") | sub("decimal"),
                      st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), sub("decimal") | sub("integer")),
            st.builds(lambda a, op, b: f"{a} {op} {b}", sub("text"), st.sampled_from(["=", "!=", "<", ">="]),
                      sub("text")),
            *(st.builds(lambda a, op, b: f"{a} {op} {b}", sub(k), st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
                        sub(k)) for k in ("date", "datetime", "duration")),
            st.builds(lambda a, op, b: f"{a} {op} {b}", sub("text"),
                      st.sampled_from(["contains", "starts_with", "ends_with"]), sub("text")),
            st.builds(lambda a, p: f"{a} like {quote(p)}", sub("text"),
                      st.text(st.sampled_from("aAbé%_ \\x"), max_size=5).filter(
                          lambda p: (len(p) - len(p.rstrip("\\"))) % 2 == 0)),
            st.builds(lambda a, neg, items: f"{a} {'not in' if neg else 'in'} ({', '.join(items)},)", sub("text"),
                      st.booleans(), st.lists(literal("text"), min_size=1, max_size=3)),
            st.builds(lambda a, neg, items: f"{a} {'not in' if neg else 'in'} ({', '.join(items)},)", sub("integer"),
                      st.booleans(), st.lists(literal("integer"), min_size=1, max_size=3)),
            st.builds(lambda t, neg: f"{quote(t)} {'not in' if neg else 'in'} tags", st.sampled_from(TAGS + ["x"]),
                      st.booleans()),
            st.builds(lambda t: f"tags contains {quote(t)}", st.sampled_from(TAGS)),
            st.builds(lambda k, neg: f"{k} is {'not ' if neg else ''}empty",
                      st.sampled_from([*FIELDS["text"], "tags", "employees", "is_hot", "close_date", "account",
                                       "account.parent_account", "annual_revenue"]), st.booleans()),
            st.builds(lambda a, op, b: f"{a} {op} {b}", parens(sub("boolean")), st.sampled_from(["and", "or"]),
                      parens(sub("boolean"))),
            parens(sub("boolean")).map(lambda x: f"not {x}"),
            st.builds(lambda n: f"account = {n}", st.integers(0, 3)),
            *(st.builds(lambda f, op, values: f"{f} {op} ({', '.join(map(quote, values))},)" if "in" in op
                        else f"{f} {op} {quote(values[0])}",
                        st.just(field), st.sampled_from(["=", "!=", "in", "not in"]),
                        st.lists(st.sampled_from(values), min_size=1, max_size=3))
              for field, values in PICKLISTS.items()),
        ],
        "integer": [
            st.builds(lambda a, op, b: f"{a} {op} {b}", parens(sub("integer")), st.sampled_from(["+", "-"]),
                      parens(sub("integer"))),
            st.builds(lambda a, n: f"{a} * {n}", parens(sub("integer")), st.integers(-5, 5)),
            sub("text").map(lambda x: f"len({x})"),
            st.builds(lambda a, b: f"days_between({a}, {b})", sub("date"), sub("date")),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(["min", "max"]), sub("integer"),
                      sub("integer")),
            sub("integer").map(lambda x: f"abs({x})"),
            parens(sub("integer")).map(lambda x: f"-{x}"),
        ],
        "decimal": [
            st.builds(lambda a, op, b: f"{a} {op} {b}", parens(sub("decimal")), st.sampled_from(["+", "-"]),
                      parens(sub("decimal") | sub("integer"))),
            st.builds(lambda a, n: f"{a} * {n}", parens(sub("decimal")), st.sampled_from(["2", "-3", "1.5", "0.1"])),
            st.builds(lambda a, b: f"{a} / {b}", parens(sub("decimal") | sub("integer")), parens(sub("integer"))),
            st.builds(lambda a, n: f"round({a}, {n})", sub("decimal"), st.integers(0, 3)),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(["min", "max"]), sub("decimal"),
                      sub("integer")),
            sub("decimal").map(lambda x: f"abs({x})"),
        ],
        "text": [
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["lower", "upper", "trim"]), sub("text")),
            st.builds(lambda a, b: f"concat({a}, {b})", sub("text"), sub("text")),
        ],
        "date": [
            st.builds(lambda a, op, d: f"{a} {op} {d}", parens(sub("date")), st.sampled_from(["+", "-"]),
                      st.one_of(st.sampled_from(FIELDS["duration"]), st.integers(-900, 900).map(
                          lambda n: duration_literal(n * 86400 + 3600 * (n % 5))))),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(["min", "max"]), sub("date"), sub("date")),
        ],
        "datetime": [
            st.builds(lambda a, op, d: f"{a} {op} {d}", parens(sub("datetime")), st.sampled_from(["+", "-"]),
                      st.one_of(st.sampled_from(FIELDS["duration"]), literal("duration"))),
        ],
        "duration": [
            st.builds(lambda a, op, b: f"{a} {op} {b}", parens(sub("duration")), st.sampled_from(["+", "-"]),
                      parens(sub("duration"))),
            st.builds(lambda a, n: f"{a} * {n}", parens(sub("duration")), st.integers(-3, 3)),
            st.builds(lambda a, b: f"{a} - {b}", parens(sub("datetime")), parens(sub("datetime"))),
        ],
    }[kind]
    return st.one_of(*common, *specific)
