"""Test entities for the expression language: lead → account → parent_account, every field type."""

from __future__ import annotations

from xrm.metadata.model import Entity, Field, PicklistOption


def options(*values: str) -> tuple[PicklistOption, ...]:
    return tuple(PicklistOption(v, v.title(), i) for i, v in enumerate(values))


def account_entity() -> Entity:
    return Entity(
        name="account", label="Account", plural_label="Accounts", pack="test", display_field="name",
        fields=(
            Field("name", "text", "Name"),
            Field("region", "picklist", "Region", options=options("west", "east", "north", "south")),
            Field("industry", "text", "Industry"),
            Field("employees", "integer", "Employees"),
            Field("parent_account", "lookup", "Parent", target="account", on_delete="set_null"),
            Field("account_manager", "user", "Account manager"),
        ),
    )


def lead_entity() -> Entity:
    return Entity(
        name="lead", label="Lead", plural_label="Leads", pack="test", display_field="last_name",
        fields=(
            Field("last_name", "text", "Last name"),
            Field("email", "email", "E-mail"),
            Field("country", "text", "Country", max_length=2),
            Field("employees", "integer", "Employees"),
            Field("annual_revenue", "currency", "Annual revenue", precision=18, scale=2),
            Field("score", "decimal", "Score", precision=9, scale=3),
            Field("is_hot", "boolean", "Hot"),
            Field("close_date", "date", "Close date"),
            Field("last_activity_at", "datetime", "Last activity"),
            Field("response_time", "duration", "Response time"),
            Field("status", "picklist", "Status", options=options("new", "working", "qualified", "lost")),
            Field("rating", "picklist", "Rating", options=options("hot", "warm", "cold")),
            Field("tags", "multi_picklist", "Tags", options=options("vip", "partner", "press", "churn_risk")),
            Field("account", "lookup", "Account", target="account", on_delete="set_null"),
            Field("assigned_to", "user", "Assigned to"),
        ),
    )


def test_entities() -> dict[str, Entity]:
    return {"lead": lead_entity(), "account": account_entity()}
