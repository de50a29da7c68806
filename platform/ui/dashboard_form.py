"""The dashboard edit form: a stored document → form rows, posted rows → a document, problems → the inputs they concern.

Plain HTML, no JavaScript: each widget is a fieldset of inputs named
``w-<row>-<key>``; a number orders the widgets, a checkbox removes one, and a
blank fieldset at the end adds one.  A widget's settings the form does not
show (its description; value labels and colours of a grouping whose field
did not change) are kept from the stored document.

Example: posting ``w-1-position=1`` and ``w-0-position=2`` swaps the first two widgets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xrm.metadata.dashboards import BUCKETS, CHART_KINDS, MEASURES
from xrm.metadata.model import Entity
from xrm.metadata.problems import PackProblem

#: The inputs of one widget: key → label.
WIDGET_INPUTS = {
    "title": "Title", "entity": "Entity", "chart": "Chart", "measure": "Measure", "field": "Measured field",
    "group_by": "Group by", "bucket": "Date bucket", "series": "Series by", "series_bucket": "Series date bucket",
    "filter": "Filter", "width": "Width", "share": "Series as shares (%)", "position": "Position",
    "remove": "Remove this widget",
}
HINTS = {
    "field": "A number field, for sum and average.",
    "group_by": "A field, or a path across lookups such as partner.tier.",
    "series": "Optional: splits each group (bar and line charts).",
    "filter": "An expression, e.g. status != 'closed'.",
    "share": "Bar charts with series: each series as its part of the group.",
}


@dataclass(frozen=True)
class Input:
    id: str
    name: str
    label: str
    control: str
    value: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()
    hint: str | None = None
    wide: bool = False


@dataclass(frozen=True)
class WidgetRow:
    index: int
    key: str
    legend: str
    inputs: tuple[Input, ...]
    new: bool = False


@dataclass
class Posted:
    """What a POST of the form gives: the document to check, and where each of its widgets came from."""

    document: dict[str, Any]
    values: dict[int, dict[str, str]]
    keys: dict[int, str]
    origin: list[int] = field(default_factory=list)


def _choices(call_entities: Mapping[str, Entity]) -> dict[str, tuple[tuple[str, str], ...]]:
    entities = sorted(call_entities.values(), key=lambda e: e.label.lower())
    buckets = (("", "—"), *BUCKETS.items())
    return {
        "entity": tuple((e.name, e.label) for e in entities),
        "chart": tuple((k.name, k.label) for k in CHART_KINDS.values()),
        "measure": tuple((m.name, m.label) for m in MEASURES.values()),
        "bucket": buckets, "series_bucket": buckets, "width": (("1", "Half width"), ("2", "Full width")),
    }


def widget_values(widget: Mapping[str, Any], position: int) -> dict[str, str]:
    """A stored widget as the form's texts."""
    group, series = widget.get("group_by") or {}, widget.get("series") or {}
    return {
        "title": widget.get("title", ""), "entity": widget.get("entity", ""), "chart": widget.get("chart", ""),
        "measure": widget.get("measure", "count"), "field": widget.get("field", ""),
        "group_by": group.get("field", ""), "bucket": group.get("bucket", ""),
        "series": series.get("field", ""), "series_bucket": series.get("bucket", ""),
        "filter": widget.get("filter", ""), "width": str(widget.get("width", 1)), "position": str(position),
        "share": "true" if widget.get("share") else "",
    }


def rows_for(values: dict[int, dict[str, str]], keys: dict[int, str], entities: Mapping[str, Entity],
             errors: Mapping[tuple[int, str], list[str]] | None = None) -> list[WidgetRow]:
    """The fieldsets: one per widget (``keys[row]`` is its name; empty for the row that adds one)."""
    errors = errors or {}
    choices = _choices(entities)
    rows = []
    for row in sorted(values):
        key, new = keys.get(row, ""), not keys.get(row)
        inputs = []
        names = (["name"] if new else []) + [k for k in WIDGET_INPUTS if not (new and k == "remove")]
        for name in names:
            control = "select" if name in choices else {"filter": "textarea", "position": "number",
                                                        "remove": "checkbox", "share": "checkbox"}.get(name, "text")
            label = "Name" if name == "name" else WIDGET_INPUTS[name]
            options = ((("", "—"),) if new and name == "entity" else ()) + choices.get(name, ())
            inputs.append(Input(f"w-{row}-{name}", f"w-{row}-{name}", label, control, values[row].get(name, ""),
                                options, tuple(errors.get((row, name), ())),
                                HINTS.get(name, "Lowercase letters, digits and _ (from the title when empty)."
                                          if name == "name" else None), wide=name == "filter"))
        legend = "Add a widget" if new else (values[row].get("title") or key)
        rows.append(WidgetRow(row, key, legend, tuple(inputs), new))
    return rows


def _grouping(text: str, bucket: str, stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not text.strip():
        return None
    grouping: dict[str, Any] = {"field": text.strip()}
    if bucket:
        grouping["bucket"] = bucket
    if stored and stored.get("field") == grouping["field"]:  # value labels and colours belong to that field
        grouping.update({k: stored[k] for k in ("labels", "colors") if k in stored})
    return grouping


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def parse_form(form: Mapping[str, Any], stored: Mapping[str, Any]) -> Posted:
    """The posted form → the dashboard document it describes (unchecked)."""
    values: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        match = re.fullmatch(r"w-(\d{1,3})-([a-z_]+)", name)
        if match:
            values.setdefault(int(match.group(1)), {})[match.group(2)] = str(value)
    stored_widgets = {w["name"]: w for w in stored.get("widgets", []) if isinstance(w, dict)}
    keys = {row: v.get("key", "") for row, v in values.items() if v.get("key", "") in stored_widgets}
    document: dict[str, Any] = {k: v for k, v in stored.items() if k != "widgets"}
    document["label"] = str(form.get("label", "")).strip()
    description = str(form.get("description", "")).strip()
    if description:
        document["description"] = description
    else:
        document.pop("description", None)
    posted = Posted(document, values, keys)
    kept = []
    for row, given in values.items():
        base = stored_widgets.get(keys.get(row, ""), {})
        if given.get("remove") or (not base and not given.get("title", "").strip() and not given.get("name", "").strip()):
            continue
        position = int(given["position"]) if given.get("position", "").isdigit() else 10_000 + row
        kept.append((position, row, _widget(given, base)))
    kept.sort(key=lambda item: (item[0], item[1]))
    document["widgets"] = [widget for _position, _row, widget in kept]
    posted.origin = [row for _position, row, _widget in kept]
    return posted


def _widget(given: Mapping[str, str], base: Mapping[str, Any]) -> dict[str, Any]:
    widget: dict[str, Any] = {k: v for k, v in base.items() if k == "description"}
    widget["name"] = base.get("name") or given.get("name", "").strip() or _slug(given.get("title", ""))
    for key in ("title", "entity", "chart", "measure", "field", "filter"):
        text = given.get(key, "").strip()
        if text:
            widget[key] = text
    width = given.get("width", "1")
    widget["width"] = int(width) if width.isdigit() else width
    if given.get("share"):
        widget["share"] = True
    for key, bucket in (("group_by", "bucket"), ("series", "series_bucket")):
        grouping = _grouping(given.get(key, ""), given.get(bucket, ""), base.get(key))
        if grouping:
            widget[key] = grouping
    return widget


_PATH = re.compile(r"^\$\.widgets\[(\d+)\](?:\.([a-z_]+))?(?:\.([a-z_]+))?")


def problem_text(problem: PackProblem) -> str:
    where = f"{problem.line}:{problem.column}: " if problem.line is not None else ""
    return where + problem.message + (f" ({problem.hint})" if problem.hint else "")


def place_problems(problems: list[PackProblem], posted: Posted) -> tuple[dict[tuple[int, str], list[str]], dict[str, list[str]]]:
    """Each problem at its input: ``(row, input) → messages`` for widgets, ``name → messages`` for the rest."""
    inputs: dict[tuple[int, str], list[str]] = {}
    general: dict[str, list[str]] = {}
    for problem in problems:
        match = _PATH.match(problem.path or "")
        if match and int(match.group(1)) < len(posted.origin):
            row = posted.origin[int(match.group(1))]
            missing = re.match(r"missing property '([a-z_]+)'", problem.message)  # the schema names it, not the path
            first, second = match.group(2) or (missing.group(1) if missing else "title"), match.group(3)
            key = {("group_by", "bucket"): "bucket", ("series", "bucket"): "series_bucket"}.get((first, second), first)
            key = key if key in WIDGET_INPUTS else ("name" if key == "name" and row not in posted.keys else "title")
            inputs.setdefault((row, key), []).append(problem_text(problem))
        else:
            name = (problem.path or "$").removeprefix("$.").split(".")[0].split("[")[0] or "dashboard"
            general.setdefault(name if name in ("label", "description") else "dashboard", []).append(problem_text(problem))
    return inputs, general
