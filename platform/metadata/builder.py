"""Schema-valid JSON documents → the frozen dataclasses of ``xrm.metadata.model``.

Used both when a pack is read from files and when installed metadata is read
back from the database, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import Any

from xrm.metadata.durations import parse_duration
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import (
    ApprovalRule,
    Entity,
    EntityPermission,
    EntryActions,
    Field,
    Index,
    ListView,
    PicklistOption,
    Role,
    SortKey,
    Transition,
    ValidationRule,
    Workflow,
    WorkflowState,
)
from xrm.metadata.tables import constraint_name

Document = Mapping[str, Any]


def humanize(name: str) -> str:
    """``close_date`` → ``Close date``: the label when a pack gives none."""
    return name.replace("_", " ").capitalize()


def build_field(doc: Document) -> Field:
    options = tuple(
        PicklistOption(
            value=o["value"], label=o.get("label") or humanize(o["value"]), order=o.get("order", index),
            color=o.get("color"), active=o.get("active", True),
        )
        for index, o in enumerate(doc.get("options", ()))
    )
    return Field(
        name=doc["name"], type=doc["type"], label=doc.get("label") or humanize(doc["name"]),
        required=doc.get("required", False), unique=doc.get("unique", False), indexed=doc.get("indexed", False),
        read_only=doc.get("read_only", False), hidden=doc.get("hidden", False), default=doc.get("default"),
        help_text=doc.get("help_text"), max_length=doc.get("max_length"), precision=doc.get("precision"),
        scale=doc.get("scale"), currency_code=doc.get("currency_code"),
        options=tuple(sorted(options, key=lambda o: o.order)),
        target=doc.get("target"), on_delete=doc.get("on_delete"), expression=doc.get("expression"),
        returns=doc.get("returns"), format=doc.get("format"), description=doc.get("description"),
        visible_when=doc.get("visible_when"), required_when=doc.get("required_when"),
        settings=MappingProxyType(_own_settings(doc)),
    )


_MODELLED = frozenset(f.name for f in fields(Field))


def _own_settings(doc: Document) -> dict[str, Any]:
    """The field type's own properties that ``Field`` has no attribute for."""
    field_type = get_field_type(doc["type"])
    return {key: doc[key] for key in field_type.options_schema if key in doc and key not in _MODELLED}


def default_display_field(fields: tuple[Field, ...]) -> str:
    """The first text-like field names a record when the pack does not say which."""
    return next((f.name for f in fields if get_field_type(f.type).names_records), "id")


def build_entity(doc: Document, pack: str) -> Entity:
    fields = tuple(build_field(f) for f in doc["fields"])
    name = doc["name"]
    indexes = tuple(
        Index(constraint_name("uq" if i.get("unique") else "ix", name, i["fields"]), tuple(i["fields"]),
              i.get("unique", False))
        for i in doc.get("indexes", ())
    )
    return Entity(
        name=name, label=doc["label"], plural_label=doc.get("plural_label") or doc["label"] + "s", pack=pack,
        display_field=doc.get("display_field") or default_display_field(fields), fields=fields, indexes=indexes,
        unique_together=tuple(tuple(together) for together in doc.get("unique_together", ())),
        validations=tuple(
            ValidationRule(v["name"], v["check"], v["message"], tuple(v.get("fields", ())))
            for v in doc.get("validations", ())
        ),
        description=doc.get("description"),
    )


def build_view(doc: Document) -> ListView:
    return ListView(
        name=doc["name"], entity=doc["entity"], label=doc["label"], columns=tuple(doc["columns"]),
        filter=doc.get("filter"),
        sort=tuple(SortKey(s["field"], s.get("direction", "asc") == "desc") for s in doc.get("sort", ())),
        default=doc.get("default", False),
    )


def build_workflow(doc: Document) -> Workflow:
    return Workflow(
        name=doc["name"], entity=doc["entity"], field=doc["field"], label=doc["label"], initial=doc["initial"],
        states=tuple(
            WorkflowState(s["name"], s.get("label") or humanize(s["name"]), s.get("final", False),
                          _entry_actions(s.get("on_enter")))
            for s in doc["states"]
        ),
        transitions=tuple(
            Transition(
                name=t["name"], label=t.get("label") or humanize(t["name"]), sources=tuple(t["from"]),
                target=t["to"], guard=t.get("guard"), roles=tuple(t.get("roles", ())),
                requires=tuple(t.get("requires", ())),
                approval=_approval(t.get("approval")),
            )
            for t in doc["transitions"]
        ),
    )


def build_role(doc: Document) -> Role:
    return Role(
        name=doc["name"], label=doc["label"], description=doc.get("description"),
        permissions=tuple(
            EntityPermission(
                entity=entity, create=p.get("create", False), read=p.get("read", False),
                update=p.get("update", False), delete=p.get("delete", False), scope=p.get("scope", "own"),
                hidden_fields=tuple(p.get("hidden_fields", ())), read_only_fields=tuple(p.get("read_only_fields", ())),
            )
            for entity, p in doc["permissions"].items()
        ),
    )


def _entry_actions(doc: Document | None) -> EntryActions | None:
    if not doc:
        return None
    return EntryActions(tuple((doc.get("set") or {}).items()), tuple(doc.get("notify") or ()), doc.get("message"))


def _approval(doc: Document | None) -> ApprovalRule | None:
    if not doc:
        return None
    expires = doc.get("expires_after")
    return ApprovalRule(doc["approver"], doc.get("when"), parse_duration(expires) if expires else None,
                        pending=doc.get("pending"), on_reject=doc.get("on_reject"),
                        set_approver=doc.get("set_approver"), comment_field=doc.get("comment_field"))
