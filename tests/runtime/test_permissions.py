"""Access rights merged over an actor's roles, and record scopes as SQL conditions.

``entity_access`` is pure: it is checked against small hand-built catalogs.
``scope_condition`` is checked against real rows of the installed CRM pack
(SQLite and PostgreSQL), with the cast's team "west" (rep1 and rep3).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, select

from tests.runtime.conftest import CAST, Installed
from xrm.context import Actor, Context
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import EntityPermission, Role
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.permissions import EntityAccess, entity_access, permission_summary, scope_condition
from xrm.runtime.records import RecordService

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def catalog(*roles: Role) -> Catalog:
    return Catalog(roles={role.name: role for role in roles})


def role(name: str, *permissions: EntityPermission) -> Role:
    return Role(name, name.title(), permissions)


def user(*roles: str, is_admin: bool = False) -> Actor:
    return Actor("someone", 7, frozenset(roles), is_admin)


# -- entity_access: merging roles ---------------------------------------------------------------


def test_a_single_role_gives_what_it_grants() -> None:
    reader = role("reader", EntityPermission("lead", read=True, scope="team", hidden_fields=("email",)))
    access = entity_access(catalog(reader), user("reader"), "lead")
    assert access == EntityAccess("lead", create=False, read="team", update=None, delete=None,
                                  hidden_fields=frozenset({"email"}))
    assert access.allows("read") and not access.allows("create") and not access.allows("update")
    assert access.scope("read") == "team" and access.scope("create") is None


def test_actions_add_up_over_roles() -> None:
    creator = role("creator", EntityPermission("lead", create=True, read=True))
    deleter = role("deleter", EntityPermission("lead", update=True, delete=True, scope="all"))
    access = entity_access(catalog(creator, deleter), user("creator", "deleter"), "lead")
    assert (access.create, access.read, access.update, access.delete) == (True, "own", "all", "all")
    assert access.scope("create") == "all"


def test_each_action_gets_the_widest_scope_of_the_roles_granting_it() -> None:
    own_editor = role("own_editor", EntityPermission("lead", read=True, update=True, scope="own"))
    team_reader = role("team_reader", EntityPermission("lead", read=True, scope="team"))
    all_reader = role("all_reader", EntityPermission("lead", read=True, scope="all"))
    two = entity_access(catalog(own_editor, team_reader), user("own_editor", "team_reader"), "lead")
    assert (two.read, two.update, two.delete) == ("team", "own", None)
    three = entity_access(catalog(own_editor, team_reader, all_reader),
                          user("all_reader", "own_editor", "team_reader"), "lead")
    assert (three.read, three.update) == ("all", "own")


def test_a_role_without_the_action_does_not_widen_its_scope() -> None:
    own_deleter = role("own_deleter", EntityPermission("lead", read=True, delete=True, scope="own"))
    all_reader = role("all_reader", EntityPermission("lead", read=True, scope="all"))
    access = entity_access(catalog(own_deleter, all_reader), user("own_deleter", "all_reader"), "lead")
    assert (access.read, access.delete) == ("all", "own")


def test_a_field_is_hidden_only_when_every_reading_role_hides_it() -> None:
    a = role("a", EntityPermission("lead", read=True, hidden_fields=("email", "phone", "city")))
    b = role("b", EntityPermission("lead", read=True, hidden_fields=("phone", "city")))
    c = role("c", EntityPermission("lead", read=True, hidden_fields=("city",)))
    access = entity_access(catalog(a, b, c), user("a", "b", "c"), "lead")
    assert access.hidden_fields == frozenset({"city"})
    assert not access.can_read_field("city") and access.can_read_field("email")
    assert entity_access(catalog(a, b), user("a", "b"), "lead").hidden_fields == frozenset({"phone", "city"})
    open_role = role("open", EntityPermission("lead", read=True))
    assert entity_access(catalog(a, open_role), user("a", "open"), "lead").hidden_fields == frozenset()


def test_roles_that_do_not_read_leave_hidden_fields_alone() -> None:
    hider = role("hider", EntityPermission("lead", read=True, hidden_fields=("email",)))
    creator = role("creator", EntityPermission("lead", create=True))  # grants no read: its (empty) hiding is ignored
    access = entity_access(catalog(hider, creator), user("hider", "creator"), "lead")
    assert access.hidden_fields == frozenset({"email"})
    assert access.create


def test_read_only_fields_are_the_intersection_over_updating_roles() -> None:
    a = role("a", EntityPermission("lead", read=True, update=True, read_only_fields=("status", "rating", "region")))
    b = role("b", EntityPermission("lead", read=True, update=True, read_only_fields=("rating", "region")))
    reader = role("reader", EntityPermission("lead", read=True))  # no update: does not make anything editable
    access = entity_access(catalog(a, b, reader), user("a", "b", "reader"), "lead")
    assert access.read_only_fields == frozenset({"rating", "region"})
    assert access.can_edit_field("status") and not access.can_edit_field("rating")
    free = role("free", EntityPermission("lead", read=True, update=True))
    assert entity_access(catalog(a, free), user("a", "free"), "lead").read_only_fields == frozenset()


def test_fields_hidden_by_an_updating_role_are_read_only_for_it() -> None:
    hider = role("hider", EntityPermission("lead", read=True, update=True, hidden_fields=("email",)))
    reader = role("reader", EntityPermission("lead", read=True))
    access = entity_access(catalog(hider, reader), user("hider", "reader"), "lead")
    assert access.hidden_fields == frozenset()  # the reader role shows it
    assert access.read_only_fields == frozenset({"email"})  # only the hider may update, and it may not touch it
    assert access.can_read_field("email") and not access.can_edit_field("email")


def test_hidden_fields_cannot_be_edited() -> None:
    hider = role("hider", EntityPermission("lead", read=True, update=True, hidden_fields=("email",)))
    access = entity_access(catalog(hider), user("hider"), "lead")
    assert not access.can_read_field("email") and not access.can_edit_field("email")


def test_administrators_may_do_everything() -> None:
    limited = role("limited", EntityPermission("lead", read=True, hidden_fields=("email",), read_only_fields=("city",)))
    for actor in (user(is_admin=True), user("limited", is_admin=True), Actor.system()):
        access = entity_access(catalog(limited), actor, "lead")
        assert access == EntityAccess("lead", True, "all", "all", "all")
        assert access.can_edit_field("email") and access.can_edit_field("city")
    assert entity_access(Catalog(), user(is_admin=True), "anything").allows("delete")


def test_unknown_roles_are_ignored() -> None:
    reader = role("reader", EntityPermission("lead", read=True, scope="all"))
    assert entity_access(catalog(reader), user("reader", "ghost"), "lead") == entity_access(catalog(reader), user("reader"), "lead")
    nothing = entity_access(catalog(reader), user("ghost"), "lead")
    assert nothing == EntityAccess("lead", False, None, None, None)
    assert not any(nothing.allows(action) for action in ("create", "read", "update", "delete"))


def test_grants_on_other_entities_do_not_count() -> None:
    reader = role("reader", EntityPermission("account", read=True, scope="all"))
    access = entity_access(catalog(reader), user("reader"), "lead")
    assert not access.allows("read")
    assert entity_access(catalog(reader), user(), "account") == EntityAccess("account", False, None, None, None)


def test_permission_summary_lists_every_grant() -> None:
    permission = EntityPermission("lead", create=True, read=True, scope="team", hidden_fields=("email",),
                                  read_only_fields=("city",))
    assert permission_summary(permission) == {
        "entity": "lead", "create": True, "read": True, "update": False, "delete": False, "scope": "team",
        "hidden_fields": ["email"], "read_only_fields": ["city"],
    }


# -- scope_condition on real rows ----------------------------------------------------------------


def ids_in_scope(installed: Installed, table: Table, scope: str, actor: Actor) -> set[int]:
    statement = select(table.c.id)
    condition = scope_condition(scope, table, actor)  # type: ignore[arg-type]
    if condition is not None:
        statement = statement.where(condition)
    with installed.engine.connect() as connection:
        return set(connection.execute(statement).scalars())


@pytest.fixture
def leads(installed: Installed) -> tuple[Table, dict[str, int]]:
    """One lead owned by each sales rep and the manager; returns the lead table and owner → lead id."""
    service = RecordService(CatalogCache(installed.engine).model())
    context = Context(Actor.system("tests"), "import", NOW)
    owned = {}
    with installed.engine.begin() as connection:
        for owner in ("rep1", "rep2", "rep3", "manager"):
            owned[owner] = service.create(connection, context, "lead", {
                "last_name": owner, "company": "ACME", "email": f"{owner}@example.com",
                "owner_id": installed.seed.user_ids[owner],
            })["id"]
    return service.model.table("lead"), owned


def actor(installed: Installed, name: str) -> Actor:
    roles, is_admin = CAST[name]
    return Actor(name, installed.seed.user_ids[name], frozenset(roles), is_admin)


def test_own_scope_selects_the_actors_records(installed: Installed, leads: tuple[Table, dict[str, int]]) -> None:
    table, owned = leads
    assert ids_in_scope(installed, table, "own", actor(installed, "rep1")) == {owned["rep1"]}
    assert ids_in_scope(installed, table, "own", actor(installed, "rep2")) == {owned["rep2"]}
    assert ids_in_scope(installed, table, "own", actor(installed, "nobody")) == set()


def test_team_scope_adds_the_records_of_team_mates(installed: Installed, leads: tuple[Table, dict[str, int]]) -> None:
    table, owned = leads
    assert ids_in_scope(installed, table, "team", actor(installed, "rep1")) == {owned["rep1"], owned["rep3"]}
    assert ids_in_scope(installed, table, "team", actor(installed, "rep3")) == {owned["rep1"], owned["rep3"]}
    assert ids_in_scope(installed, table, "team", actor(installed, "rep2")) == {owned["rep2"]}  # in no team
    assert ids_in_scope(installed, table, "team", actor(installed, "manager")) == {owned["manager"]}


def test_all_scope_has_no_condition(installed: Installed, leads: tuple[Table, dict[str, int]]) -> None:
    table, owned = leads
    assert scope_condition("all", table, actor(installed, "rep1")) is None
    assert ids_in_scope(installed, table, "all", actor(installed, "rep1")) == set(owned.values())


def test_an_actor_without_a_user_owns_nothing(installed: Installed, leads: tuple[Table, dict[str, int]]) -> None:
    table, _ = leads
    anonymous = Actor("anonymous", None, frozenset({"sales_rep"}))
    assert ids_in_scope(installed, table, "own", anonymous) == set()
    assert ids_in_scope(installed, table, "team", anonymous) == set()
