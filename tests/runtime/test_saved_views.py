"""Saved views: personal or shared, checked like a list request, changed only by their owner."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from tests.runtime.conftest import Installed
from xrm.context import Context
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.queries import ListQuery, ListRequest
from xrm.runtime.record_errors import Forbidden, Invalid, NotFound
from xrm.runtime.saved_views import delete_view, get_view, save_view, views_for

COLUMNS = ("last_name", "company", "status")
PEOPLE: dict[str, Context] = {}


@pytest.fixture
def people(installed: Installed) -> dict[str, Context]:
    """Each user's context, read before a test opens its write transaction (SQLite has one writer)."""
    return {name: installed.context(name, "ui") for name in ("admin", "rep1", "rep2")}


def _save(installed: Installed, connection: Connection, user: str, name: str, **kwargs):  # noqa: ANN202
    model = CatalogCache(installed.engine).model_for(connection)
    return save_view(connection, model, PEOPLE[user], "lead", name, columns=kwargs.pop("columns", COLUMNS), **kwargs)


def test_a_personal_view_is_its_owners_and_a_shared_one_everyones(installed: Installed, people: dict[str, Context]) -> None:
    PEOPLE.update(people)
    with installed.engine.begin() as connection:
        mine = _save(installed, connection, "rep1", "My hot leads", filter="rating = 'hot'", sort="-created_at")
        shared = _save(installed, connection, "admin", "Everyone's new leads", filter="status = 'new'", shared=True)
        assert [v.name for v in views_for(connection, PEOPLE["rep1"], "lead")] == [
            "Everyone's new leads", "My hot leads"]
        assert [v.name for v in views_for(connection, PEOPLE["rep2"], "lead")] == ["Everyone's new leads"]
        with pytest.raises(NotFound):
            get_view(connection, PEOPLE["rep2"], mine.id)
        assert get_view(connection, PEOPLE["rep2"], shared.id).filter == "status = 'new'"
        assert (mine.columns, mine.sort, mine.shared) == (COLUMNS, "-created_at", False)


def test_saving_again_under_the_same_name_replaces_the_view(installed: Installed, people: dict[str, Context]) -> None:
    PEOPLE.update(people)
    with installed.engine.begin() as connection:
        first = _save(installed, connection, "rep1", "Mine", filter="rating = 'hot'")
        second = _save(installed, connection, "rep1", "Mine", filter="rating = 'warm'", columns=("last_name",))
        assert second.id == first.id and second.filter == "rating = 'warm'" and second.columns == ("last_name",)
        assert len(views_for(connection, PEOPLE["rep1"], "lead")) == 1


def test_a_view_is_checked_like_a_list_request(installed: Installed, people: dict[str, Context]) -> None:
    PEOPLE.update(people)
    with installed.engine.begin() as connection, pytest.raises(Invalid) as caught:
        _save(installed, connection, "rep1", " ", filter="ratin = 'hot'", sort="nope", columns=("last_name", "secret"))
    fields = {e.field for e in caught.value.errors}
    assert {"name", "filter", "sort", "columns"} <= fields
    assert any("did you mean 'rating'" in (e.message or "") for e in caught.value.errors)


def test_only_people_who_see_every_record_share_views(installed: Installed, people: dict[str, Context]) -> None:
    PEOPLE.update(people)
    with installed.engine.begin() as connection, pytest.raises(Invalid) as caught:
        _save(installed, connection, "rep1", "For all", shared=True)
    assert [e.code for e in caught.value.errors] == ["not_permitted"]


def test_only_the_owner_or_an_administrator_deletes_a_view(installed: Installed, people: dict[str, Context]) -> None:
    PEOPLE.update(people)
    with installed.engine.begin() as connection:
        shared = _save(installed, connection, "admin", "Team view", shared=True)
        mine = _save(installed, connection, "rep1", "Mine")
        with pytest.raises(Forbidden):
            delete_view(connection, PEOPLE["rep1"], shared.id)
        delete_view(connection, PEOPLE["rep1"], mine.id)
        delete_view(connection, PEOPLE["admin"], shared.id)
        assert views_for(connection, PEOPLE["rep1"], "lead") == []


def test_a_saved_view_runs_as_a_list_request(installed: Installed, people: dict[str, Context]) -> None:
    PEOPLE.update(people)
    with installed.engine.begin() as connection:
        view = _save(installed, connection, "admin", "Hot", filter="rating = 'hot'", sort="last_name")
        model = CatalogCache(installed.engine).model_for(connection)
        page = ListQuery(model, PEOPLE["admin"], "lead",
                         ListRequest(filter=view.filter, sort=view.sort)).run(connection)
        assert all(item["rating"] == "hot" for item in page.items)
