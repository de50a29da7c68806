"""The admin layer over pack documents: patches win, ``null`` resets, options merge value by value, removed fields go."""

from __future__ import annotations

from xrm.metadata.layers import StoredDocument, effective_entity, effective_role, overlay_documents, patched_field

PACK = {"name": "lead", "label": "Lead", "fields": [
    {"name": "last_name", "type": "text", "required": True},
    {"name": "status", "type": "picklist", "default": "new", "options": [{"value": "new"}, {"value": "won", "label": "Won"}]},
    {"name": "fax", "type": "phone", "label": "Fax"},
]}


def test_patches_win_and_null_resets_a_property() -> None:
    overlay = {"properties": {"label": "Prospect"}, "fields": {"last_name": {"label": "Surname", "required": None}}}
    document = effective_entity(PACK, overlay)
    assert document["label"] == "Prospect"
    assert document["fields"][0] == {"name": "last_name", "type": "text", "label": "Surname"}
    assert PACK["fields"][0]["required"] is True  # the pack's document is not touched


def test_picklist_values_are_patched_value_by_value_and_added() -> None:
    field = patched_field(PACK["fields"][1], {"options": {"won": {"label": "Closed won", "active": False}},
                                              "added_options": [{"value": "parked", "order": 0}]})
    assert field["options"] == [{"value": "new"}, {"value": "won", "label": "Closed won", "active": False},
                                {"value": "parked", "order": 0}]


def test_added_fields_order_and_soft_removal() -> None:
    overlay = {"added_fields": [{"name": "score", "type": "integer"}], "order": ["score", "status"],
               "removed": {"fax": PACK["fields"][2]}}
    assert [f["name"] for f in effective_entity(PACK, overlay)["fields"]] == ["score", "status", "last_name"]


def test_an_entity_admins_created_needs_no_pack_document() -> None:
    own = {"entity": {"name": "project", "label": "Project", "fields": [{"name": "title", "type": "text"}]},
           "fields": {"title": {"label": "Title"}}}
    assert effective_entity(None, own)["fields"] == [{"name": "title", "type": "text", "label": "Title"}]
    assert effective_entity(None, {}) is None


def test_role_permissions_are_replaced_per_entity_or_taken_away() -> None:
    role = {"name": "rep", "label": "Rep", "permissions": {"lead": {"read": True}, "case": {"read": True}}}
    effective = effective_role(role, {"permissions": {"lead": {"read": True, "update": True}, "case": None}})
    assert effective["permissions"] == {"lead": {"read": True, "update": True}}


def test_overlay_documents_leaves_other_kinds_alone_and_appends_admin_entities() -> None:
    pack = [StoredDocument("entity", "lead", "crm", PACK), StoredDocument("dashboard", "d", "crm", {"x": 1})]
    admin = [StoredDocument("dashboard", "d", "crm", {"x": 2}),
             StoredDocument("entity", "lead", "crm", {"properties": {"label": "Prospect"}}),
             StoredDocument("entity", "project", "custom",
                            {"entity": {"name": "project", "label": "P", "fields": [{"name": "t", "type": "text"}]}})]
    result = overlay_documents(pack, admin)
    assert [(d.kind, d.name, d.pack) for d in result] == [("entity", "lead", "crm"), ("dashboard", "d", "crm"),
                                                          ("entity", "project", "custom")]
    assert result[0].definition["label"] == "Prospect" and result[1].definition == {"x": 1}
