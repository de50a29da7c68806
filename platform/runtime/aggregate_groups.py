"""How each kind of field groups records on a dashboard: the SQL key, the order, the labels and the drill-down filter.

A group kind turns the value SQL of a field path into a grouping key and the
keys the database returned into ``Group``s: picklists in option order with
their labels and colours, booleans as yes/no (empty counts as no, as in the
expression language), lookups by id (named by the reader later), dates by
bucket with the periods in between filled, other values in their order.
Every group carries the expression that selects exactly its records, which
the list page takes as ``?filter=``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import false, func
from sqlalchemy.sql.elements import ColumnElement

from xrm.metadata.dashboards import Grouping, ResolvedPath, group_kind
from xrm.runtime.aggregate_buckets import BUCKETS, bucket_sql

EMPTY_LABEL = "Not set"
#: Bucketed dates fill the periods between the first and the last with zeros, up to this many.
MAX_FILLED_PERIODS = 400


@dataclass(frozen=True)
class Group:
    """One group of records: a stable text ``key``, the value, how it is shown, and the filter selecting it."""

    key: str
    value: Any
    label: str
    filter: str
    color: str | None = None
    #: For lookups: the entity the value points to (the reader's page names it).
    target: str | None = None
    #: A shorter label for axes (bucketed dates).
    short: str | None = None


def quote(text: str) -> str:
    """A text literal of the expression language: ``it's`` → ``'it\\'s'``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class GroupKind:
    """The default: group by the value itself, in its order."""

    def key_sql(self, value: ColumnElement[Any], grouping: Grouping, resolved: ResolvedPath,
                dialect: str) -> ColumnElement[Any]:
        return value

    def groups(self, keys: Iterable[Any], grouping: Grouping, resolved: ResolvedPath) -> list[Group]:
        present = [k for k in set(keys) if k is not None]
        ordered = [self.group(k, grouping, resolved) for k in sorted(present, key=self.sort_key)]
        ordered = _label_order(ordered, grouping)
        if any(k is None for k in keys):
            ordered.append(empty_group(grouping))
        return ordered

    def sort_key(self, key: Any) -> Any:
        return key

    def group(self, key: Any, grouping: Grouping, resolved: ResolvedPath) -> Group:
        literal = quote(key) if isinstance(key, str) else str(key)
        text = str(key)
        return Group(text, key, grouping.labels.get(text, text), f"{grouping.field} = {literal}")


def empty_group(grouping: Grouping) -> Group:
    return Group("", None, grouping.labels.get("", EMPTY_LABEL), f"{grouping.field} is empty")


def _label_order(groups: list[Group], grouping: Grouping) -> list[Group]:
    """Values named in ``labels`` come first, in the order the labels are written."""
    if not grouping.labels:
        return groups
    order = {key: index for index, key in enumerate(grouping.labels)}
    return sorted(groups, key=lambda g: order.get(g.key, len(order)))


class ChoiceKind(GroupKind):
    """Picklists: option order, option labels and colours; values no longer offered after them."""

    def groups(self, keys: Iterable[Any], grouping: Grouping, resolved: ResolvedPath) -> list[Group]:
        keys = set(keys)
        options = resolved.field.options
        offered = [o for o in options if o.value in keys]
        unknown = sorted(k for k in keys if k is not None and resolved.field.option(k) is None)
        result = [Group(o.value, o.value, grouping.labels.get(o.value, o.label), f"{grouping.field} = {quote(o.value)}",
                        o.color) for o in offered]
        result += [super(ChoiceKind, self).group(k, grouping, resolved) for k in unknown]
        result = _label_order(result, grouping)
        return result + ([empty_group(grouping)] if None in keys else [])


class FlagKind(GroupKind):
    """Booleans: yes and no, an empty value counting as no."""

    def key_sql(self, value: ColumnElement[Any], grouping: Grouping, resolved: ResolvedPath,
                dialect: str) -> ColumnElement[Any]:
        return func.coalesce(value, false())

    def groups(self, keys: Iterable[Any], grouping: Grouping, resolved: ResolvedPath) -> list[Group]:
        present = {bool(k) for k in keys if k is not None}
        result = [
            Group("true", True, grouping.labels.get("true", "Yes"), f"{grouping.field} = true"),
            Group("false", False, grouping.labels.get("false", "No"), f"not ({grouping.field})"),
        ]
        return _label_order([g for g in result if g.value in present], grouping)


class ReferenceKind(GroupKind):
    """Lookups and users: by the id; the reader's page puts the display names on."""

    def group(self, key: Any, grouping: Grouping, resolved: ResolvedPath) -> Group:
        target = "user" if resolved.field.type == "user" else resolved.field.target
        text = str(key)
        return Group(text, key, grouping.labels.get(text, f"#{key}"), f"{grouping.field} = {key}", target=target)


class TimeKind(GroupKind):
    """Dates and instants by bucket; the periods between the first and the last are there too, with zeros."""

    def key_sql(self, value: ColumnElement[Any], grouping: Grouping, resolved: ResolvedPath,
                dialect: str) -> ColumnElement[Any]:
        instant = resolved.field.type == "datetime" or (resolved.field.returns == "datetime")
        return bucket_sql(grouping.bucket or "month", value, instant, dialect)

    def groups(self, keys: Iterable[Any], grouping: Grouping, resolved: ResolvedPath) -> list[Group]:
        keys = list(keys)
        bucket = BUCKETS[grouping.bucket or "month"]
        starts = sorted({date.fromisoformat(str(k)) for k in keys if k is not None})
        if starts:
            filled, current = [], starts[0]
            while current <= starts[-1] and len(filled) < MAX_FILLED_PERIODS:
                filled.append(current)
                current = bucket.following(current)
            starts = sorted(set(filled) | set(starts))
        instant = resolved.field.type == "datetime" or resolved.field.returns == "datetime"
        result = [self._period(start, bucket, grouping, instant) for start in starts]
        return result + ([empty_group(grouping)] if any(k is None for k in keys) else [])

    def _period(self, start: date, bucket: Any, grouping: Grouping, instant: bool) -> Group:
        end = bucket.following(start)
        low, high = (f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T00:00:00Z") if instant \
            else (start.isoformat(), end.isoformat())
        where = f"{grouping.field} >= {low} and {grouping.field} < {high}"
        return Group(start.isoformat(), start, bucket.label(start), where, short=bucket.short(start))


class ValueKind(GroupKind):
    """Text and whole numbers: by the value, in its order."""

    def sort_key(self, key: Any) -> Any:
        return (str(type(key)), key)

    def group(self, key: Any, grouping: Grouping, resolved: ResolvedPath) -> Group:
        if isinstance(key, Decimal | float):
            key = int(key)
        return super().group(key, grouping, resolved)


GROUP_KINDS: dict[str, GroupKind] = {}


def register_group_kind(name: str, kind: GroupKind) -> None:
    assert name not in GROUP_KINDS, f"group kind {name!r} is registered twice"
    GROUP_KINDS[name] = kind


for _name, _kind in (("choice", ChoiceKind()), ("flag", FlagKind()), ("reference", ReferenceKind()),
                     ("time", TimeKind()), ("value", ValueKind())):
    register_group_kind(_name, _kind)


def kind_of(resolved: ResolvedPath) -> GroupKind:
    name = group_kind(resolved.field)
    assert name is not None, f"{resolved.path} cannot group (the dashboard checks say so first)"
    return GROUP_KINDS[name]


def normalise_key(kind: GroupKind, key: Any) -> Any:
    """A key as the groups know it (databases return booleans as 0/1 or True/False)."""
    if isinstance(kind, FlagKind):
        return bool(key) if key is not None else False
    return key

