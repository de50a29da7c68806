"""The catalog: installed packs and their objects, read-only, with a pack added or taken away."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from xrm.metadata.catalog import Catalog, InstalledPack
from xrm.metadata.model import Entity, EntityPermission, Field, ListView, Pack, Role, Transition, Workflow, WorkflowState


def entity(name: str, pack: str) -> Entity:
    return Entity(name, name.title(), name.title() + "s", pack, "title", (
        Field("title", "text", "Title"), Field("status", "picklist", "Status"),
    ))


def view(name: str, on: str) -> ListView:
    return ListView(name, on, name.title(), ("title",))


def workflow(name: str, on: str) -> Workflow:
    return Workflow(name, on, "status", name.title(), "open",
                    (WorkflowState("open", "Open"), WorkflowState("done", "Done", True)),
                    (Transition("finish", "Finish", ("open",), "done"),))


def role(name: str, on: str) -> Role:
    return Role(name, name.title(), (EntityPermission(on, read=True),))


BASE = Pack("base", "1.0", "Base", "The base pack", {}, (entity("account", "base"), entity("contact", "base")),
            views=(view("all_accounts", "account"),), workflows=(workflow("account_flow", "account"),),
            roles=(role("base_user", "account"),))
EXTRA = Pack("extra", "2.1.0", "Extra", None, {"base": ">=1.0"}, (entity("case", "extra"),),
             views=(view("all_cases", "case"), view("key_accounts", "account")),
             workflows=(workflow("case_flow", "case"),), roles=(role("agent", "case"),))


def test_empty_catalog() -> None:
    catalog = Catalog()
    assert all(len(getattr(catalog, name)) == 0 for name in ("packs", "entities", "views", "workflows", "roles"))


def test_with_pack_adds_the_pack_and_every_object_keyed_by_name() -> None:
    catalog = Catalog().with_pack(BASE)
    assert catalog.packs == {"base": InstalledPack("base", "1.0", "Base", "The base pack")}
    assert catalog.packs["base"].installed_at is None
    assert dict(catalog.entities) == {"account": BASE.entities[0], "contact": BASE.entities[1]}
    assert dict(catalog.views) == {"all_accounts": BASE.views[0]}
    assert dict(catalog.workflows) == {"account_flow": BASE.workflows[0]}
    assert dict(catalog.roles) == {"base_user": BASE.roles[0]}


def test_with_pack_returns_a_new_catalog_and_keeps_the_old_one() -> None:
    base = Catalog().with_pack(BASE)
    both = base.with_pack(EXTRA)
    assert list(both.packs) == ["base", "extra"]
    assert set(both.entities) == {"account", "contact", "case"}
    assert set(both.views) == {"all_accounts", "all_cases", "key_accounts"}
    assert list(base.packs) == ["base"] and set(base.entities) == {"account", "contact"}


def test_with_pack_replaces_a_pack_of_the_same_name() -> None:
    newer = Pack("base", "1.1", "Base 1.1", None, {}, (entity("account", "base"),))
    catalog = Catalog().with_pack(BASE).with_pack(newer)
    assert catalog.packs["base"].version == "1.1"
    assert catalog.packs["base"].label == "Base 1.1"


@pytest.mark.parametrize("name", ["packs", "entities", "views", "workflows", "roles"])
def test_mappings_are_read_only(name: str) -> None:
    catalog = Catalog().with_pack(BASE)
    with pytest.raises(TypeError):
        getattr(catalog, name)["new"] = object()


def test_catalog_is_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        Catalog().packs = {}  # type: ignore[misc]


def test_catalog_copies_the_mappings_it_is_given() -> None:
    source = {"account": BASE.entities[0]}
    catalog = Catalog(entities=source)
    source["contact"] = BASE.entities[1]
    assert list(catalog.entities) == ["account"]


def test_without_pack_removes_its_pack_entities_and_what_lives_on_them() -> None:
    catalog = Catalog().with_pack(BASE).with_pack(EXTRA).without_pack("extra")
    assert list(catalog.packs) == ["base"]
    assert set(catalog.entities) == {"account", "contact"}
    assert "all_cases" not in catalog.views
    assert set(catalog.workflows) == {"account_flow"}


def test_without_a_pack_that_is_not_installed_changes_nothing() -> None:
    catalog = Catalog().with_pack(BASE)
    same = catalog.without_pack("nothing")
    assert (dict(same.packs), dict(same.entities), dict(same.views), dict(same.workflows), dict(same.roles)) == (
        dict(catalog.packs), dict(catalog.entities), dict(catalog.views), dict(catalog.workflows), dict(catalog.roles),
    )


def test_without_pack_removes_its_roles() -> None:
    catalog = Catalog().with_pack(BASE).with_pack(EXTRA).without_pack("extra")
    assert set(catalog.roles) == {"base_user"}


def test_without_pack_removes_its_views_on_other_packs_entities() -> None:
    catalog = Catalog().with_pack(BASE).with_pack(EXTRA).without_pack("extra")
    assert set(catalog.views) == {"all_accounts"}


def test_without_pack_keeps_other_packs_views() -> None:
    catalog = Catalog().with_pack(BASE).with_pack(EXTRA).without_pack("base")
    assert "key_accounts" in catalog.views
