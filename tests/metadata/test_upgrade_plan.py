"""Carrying the admin layer over to a pack's new version: renames followed, the admin's value kept, conflicts said."""

from __future__ import annotations

from xrm.metadata.upgrade_plan import ADMIN_WINS, declared_renames, rebase_entity_overlay, rebase_role_overlay

OLD = {"name": "lead", "label": "Lead", "fields": [
    {"name": "title", "type": "text", "label": "Title"},
    {"name": "fax", "type": "phone"},
    {"name": "source", "type": "picklist", "options": [{"value": "ads", "label": "Ads"}, {"value": "old"}]},
]}
NEW = {"name": "lead", "label": "Lead", "fields": [
    {"name": "job_title", "type": "text", "label": "Job title", "renamed_from": "title"},
    {"name": "source", "type": "picklist", "options": [{"value": "ads", "label": "Advertising"}]},
    {"name": "score", "type": "integer"},
    {"name": "code", "type": "integer"},
]}
RENAMES = declared_renames(NEW)


def test_patches_follow_renames_and_the_admin_value_wins() -> None:
    overlay = {"fields": {"title": {"label": "Position"}}, "order": ["title", "source"]}
    rebased, conflicts = rebase_entity_overlay("lead", overlay, OLD, NEW, RENAMES)
    assert rebased["fields"] == {"job_title": {"label": "Position"}} and rebased["order"] == ["job_title", "source"]
    [conflict] = conflicts
    assert (conflict.name, conflict.property, conflict.admin_value, conflict.pack_value, conflict.resolution) == (
        "lead.job_title", "label", "Position", "Job title", ADMIN_WINS)


def test_option_patches_of_dropped_values_go_and_changed_ones_conflict() -> None:
    overlay = {"fields": {"source": {"options": {"ads": {"label": "Paid"}, "old": {"active": False}}}}}
    rebased, conflicts = rebase_entity_overlay("lead", overlay, OLD, NEW, RENAMES)
    assert rebased["fields"]["source"] == {"options": {"ads": {"label": "Paid"}}}
    assert [(c.kind, c.name, c.admin_value, c.pack_value) for c in conflicts] == [
        ("option", "lead.source=ads", "Paid", "Advertising")]


def test_an_admin_field_the_pack_adopts_and_one_that_clashes() -> None:
    overlay = {"added_fields": [{"name": "score", "type": "integer", "label": "My score"}, {"name": "code", "type": "text"}]}
    rebased, conflicts = rebase_entity_overlay("lead", overlay, OLD, NEW, RENAMES)
    assert rebased["fields"] == {"score": {"label": "My score"}}
    assert rebased["added_fields"] == [{"name": "code", "type": "text"}]
    blocking = [c for c in conflicts if c.blocking]
    assert [(c.name, c.admin_value, c.pack_value) for c in blocking] == [("lead.code", "text", "integer")]


def test_a_patch_of_a_field_the_pack_drops_goes_with_it() -> None:
    rebased, conflicts = rebase_entity_overlay("lead", {"fields": {"fax": {"hidden": True}}}, OLD, NEW, RENAMES)
    assert rebased == {} and "soft removal" in conflicts[0].resolution


def test_role_overlays_follow_renamed_fields() -> None:
    role = {"name": "rep", "label": "Rep", "permissions": {"lead": {"read": True}}}
    overlay = {"permissions": {"lead": {"read": True, "hidden_fields": ["title"]}}}
    rebased, conflicts = rebase_role_overlay("rep", overlay, role, role, {"lead": RENAMES})
    assert rebased == {"permissions": {"lead": {"read": True, "hidden_fields": ["job_title"]}}} and conflicts == []
    changed = {**role, "permissions": {"lead": {"read": True, "update": True}}}
    _, conflicts = rebase_role_overlay("rep", overlay, role, changed, {"lead": RENAMES})
    assert [(c.name, c.resolution) for c in conflicts] == [("rep.lead", ADMIN_WINS)]
