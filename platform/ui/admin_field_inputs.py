"""The inputs of the field forms, generated from the field type registry, and posted forms → field documents.

Every field has the ``COMMON`` properties; a type adds its own from its
``options_schema`` (JSON Schema): an ``enum`` becomes a select, an integer a
number input, an array of options a textarea with one value per line, and a
property in ``PROPERTY_CHOICES`` a select of what the catalog holds (a
lookup's target entity).  Inputs of a type's properties are named
``p-<property>``.

Example: the lines ``plan = Planning`` and ``done`` give the options
``[{"value": "plan", "label": "Planning"}, {"value": "done"}]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import FormData

from xrm.metadata.admin_changes import FIELD_PROPERTIES
from xrm.metadata.catalog import Catalog
from xrm.metadata.fieldtypes import FieldType, field_type_names, field_types, get_field_type
from xrm.ui.admin_common import Input, form_text

#: key → (label, control, hint)
COMMON: dict[str, tuple[str, str, str | None]] = {
    "name": ("Name", "text", "Lowercase letters, digits and _; it names the column and the API property."),
    "label": ("Label", "text", None),
    "help_text": ("Help text", "text", "Shown under the input in forms."),
    "description": ("Description", "text", None),
    "default": ("Default value", "text", "Filled in new records; a required field added to a table with records "
                                         "needs one, which fills them."),
    "required": ("Required", "checkbox", None),
    "unique": ("Unique", "checkbox", None),
    "indexed": ("Indexed (faster filters and sorting)", "checkbox", None),
    "read_only": ("Read-only in forms", "checkbox", None),
    "hidden": ("Hidden from forms and lists", "checkbox", None),
}
ADD_KEYS = ("name", "label", "help_text", "description", "default", "required", "unique", "indexed", "read_only")
EDIT_KEYS = ("label", "help_text", "description", "default", "required", "unique", "indexed", "read_only", "hidden")
PREFIX = "p-"
TYPE_HINTS = {"options": "One value per line: value = Label (the label is optional), e.g. closed_won = Won.",
              "expression": "An expression over the record's fields, e.g. amount * probability / 100."}
PROPERTY_CHOICES: dict[str, Callable[[Catalog], tuple[tuple[str, str], ...]]] = {
    "target": lambda catalog: tuple((e.name, f"{e.label} ({e.name})")
                                    for e in sorted(catalog.entities.values(), key=lambda e: e.label.lower())),
}


def type_choices(current: str | None = None) -> tuple[tuple[str, str], ...]:
    """Every registered type; to change ``current`` into, those whose required properties a field change can set
    (``FIELD_PROPERTIES``: a values list or a lookup's target is only given when a field is added)."""
    return tuple((t.name, t.label) for t in field_types()
                 if current is None or t.name == current or set(t.required_options) <= FIELD_PROPERTIES)


def _control(key: str, schema: Mapping[str, Any], catalog: Catalog) -> tuple[str, tuple[tuple[str, str], ...]]:
    if key in PROPERTY_CHOICES:
        return "select", PROPERTY_CHOICES[key](catalog)
    if "enum" in schema:
        return "select", (("", "—"), *((str(v), str(v)) for v in schema["enum"]))
    return {"integer": "number", "array": "textarea"}.get(schema.get("type", ""), "text"), ()


def _shown(value: Any) -> Any:
    if isinstance(value, list):  # options
        return "\n".join(f"{o['value']} = {o['label']}" if o.get("label") else o["value"] for o in value)
    return "" if value is None else str(value) if not isinstance(value, bool) else value


def common_inputs(keys: tuple[str, ...], values: Mapping[str, Any]) -> list[Input]:
    return [Input(f"f-{key}", key, COMMON[key][0], COMMON[key][1], _shown(values.get(key)), hint=COMMON[key][2],
                  wide=key in ("help_text", "description"))
            for key in keys]


def editable_properties(field_type: FieldType, *, editing: bool) -> dict[str, Mapping[str, Any]]:
    """The type's own properties a form shows: all when adding a field; when editing, those a field change
    sets (picklist values have forms of their own, a lookup's target stays)."""
    return {k: s for k, s in field_type.options_schema.items() if not editing or k in FIELD_PROPERTIES}


def type_inputs(field_type: FieldType, values: Mapping[str, Any], catalog: Catalog, *, editing: bool = False
                ) -> list[Input]:
    inputs = []
    for key, schema in editable_properties(field_type, editing=editing).items():
        control, choices = _control(key, schema, catalog)
        required = key in field_type.required_options
        hint = TYPE_HINTS.get(key) or schema.get("x-expected")
        label = key.replace("_", " ").capitalize() + ("" if required else " (optional)")
        inputs.append(Input(f"{PREFIX}{key}", f"{PREFIX}{key}", label, control, _shown(values.get(key)), choices,
                            hint=hint, wide=control == "textarea"))
    return inputs


def _options(text: str) -> list[dict[str, str]]:
    options = []
    for line in text.splitlines():
        value, _, label = line.partition("=")
        if value.strip():
            options.append({"value": value.strip(), **({"label": label.strip()} if label.strip() else {})})
    return options


def _typed(text: str, schema: Mapping[str, Any]) -> Any:
    """Form text as the schema's type; what does not parse stays text, for the pack checks to name."""
    if schema.get("type") == "array":
        return _options(text)
    if schema.get("type") == "integer":
        return int(text) if text.lstrip("-").isdigit() else text
    return text


def posted_type_properties(form: FormData | None, field_type: FieldType, *, editing: bool) -> dict[str, Any]:
    """The type's properties as posted: empty inputs are None (the property is not set), except the type's
    required ones, sent empty so that the checks name the very property (``$.options``: at least 1 item)."""
    return {key: (_typed(form_text(form, PREFIX + key), schema)
                  if form_text(form, PREFIX + key) or key in field_type.required_options else None)
            for key, schema in editable_properties(field_type, editing=editing).items()}


def posted_common(form: FormData | None, keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: (form_text(form, key) == "true") if COMMON[key][1] == "checkbox" else (form_text(form, key) or None)
            for key in keys}


def new_field_document(form: FormData | None, field_type: FieldType) -> dict[str, Any]:
    """The field document the "add a field" form describes."""
    document = {"type": field_type.name, **posted_common(form, ADD_KEYS),
                **posted_type_properties(form, field_type, editing=False)}
    return {k: v for k, v in document.items() if v is not None and v is not False}


def _same(posted: Any, current: Any) -> bool:
    if isinstance(posted, bool):
        return posted == bool(current)
    return posted == current or (posted is not None and current is not None and str(posted) == str(current))


def field_changes(form: FormData | None, current: Mapping[str, Any], *, admin_field: bool) -> dict[str, Any]:
    """What the "edit a field" form changes: only the properties whose posted value differs from ``current``."""
    posted = posted_common(form, EDIT_KEYS)
    if admin_field:
        old = get_field_type(current["type"])
        posted_type = form_text(form, "type")
        new = get_field_type(posted_type if posted_type in field_type_names() else old.name)
        properties = posted_type_properties(form, new, editing=True)
        if new.name != old.name:  # what only the old type knew goes
            properties = {**{k: None for k in editable_properties(old, editing=True)}, **properties}
            posted["type"] = new.name
        posted.update(properties)
    return {k: v for k, v in posted.items() if not _same(v, current.get(k))}
