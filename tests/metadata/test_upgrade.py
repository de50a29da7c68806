"""Upgrading each bundled pack from 1.0 to the 2.0 under ``tests/fixtures/packs_v2`` on a customized install with
10,000 records, on SQLite and PostgreSQL: every record kept (checksums of untouched columns equal), renamed data
moved, admin customizations intact, the plan's predictions equal to what happened; refused upgrades change
nothing; writes made while an upgrade runs are not lost.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, MetaData, Table, func, insert, inspect, select
from starlette.testclient import TestClient

from tests.conftest import FIXTURES_DIR
from tests.runtime.conftest import Installed, installed, postgres_template, sqlite_template  # noqa: F401
from xrm.context import Actor, Context
from xrm.metadata import admin_store, store
from xrm.metadata.customize import MetaChange, apply_change
from xrm.metadata.upgrade import UpgradeRefused, plan_upgrade, upgrade_pack
from xrm.system_tables import audit_log, packs, schema_history

V2 = FIXTURES_DIR / "packs_v2"
RECORDS = 10_000
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CONTEXT = Context(Actor.system("consultant"), "cli", NOW)


def _system(i: int) -> dict[str, Any]:
    """System columns; ids come from the table (PostgreSQL's sequence must move for later API writes)."""
    return {"version": 1, "created_at": NOW, "updated_at": NOW}


def _leads(connection: Connection) -> None:
    _insert(connection, "lead", [
        {**_system(i), "last_name": f"Doe {i}", "company": f"Co {i % 97}", "email": f"l{i}@x.io", "status": "new",
         "title": None if i % 5 == 0 else f"Title {i}", "source": ("advertisement", "web", "referral")[i % 3],
         "lead_score": i % 100, "nickname": f"nick{i}"} for i in range(1, RECORDS + 1)])


def _cases(connection: Connection) -> None:
    _insert(connection, "case", [
        {**_system(i), "case_number": f"CASE-{i:05d}", "subject": f"Broken {i}", "status": "new", "priority": "medium",
         "origin": ("email", "social_media", "phone", "web")[i % 4],
         "escalation_reason": f"late {i}" if i % 3 == 0 else None, "region_code": f"R{i % 7}"}
        for i in range(1, RECORDS + 1)])


def _partners(connection: Connection, duplicate_email: bool = False) -> None:
    _insert(connection, "account", [{**_system(i), "name": f"Account {i}"} for i in range(1, RECORDS + 1)])
    accounts = connection.execute(select(Table("account", MetaData(), autoload_with=connection).c.id)
                                  .order_by("id")).scalars().all()
    _insert(connection, "partner", [
        {**_system(i), "name": f"Partner {i}", "account": accounts[i - 1], "tier": ("registered", "silver", "gold")[i % 3],
         "status": "prospect", "country": ("DE", "FR", None)[i % 3],
         "email": "same@x.io" if duplicate_email and i <= 2 else f"p{i}@x.io",
         "joined_on": datetime(2020, 1 + i % 12, 1).date() if i % 2 else None, "scorecard": f"s{i}"}
        for i in range(1, RECORDS + 1)])


def _insert(connection: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    table = Table(name, MetaData(), autoload_with=connection)
    for start in range(0, len(rows), 2000):
        connection.execute(insert(table), rows[start:start + 2000])


def _customize(engine: Any, changes: list[MetaChange]) -> None:
    for change in changes:
        apply_change(engine, change, CONTEXT)


@dataclass(frozen=True)
class Case:
    pack: str
    entity: str
    customize: list[MetaChange]
    fill: Callable[[Connection], None]
    renamed: tuple[str, str]


CASES = {
    "crm": Case("crm", "lead", [
        MetaChange("update_field", entity="lead", field="title", values={"label": "Position"}),
        MetaChange("update_option", entity="lead", field="source", values={"value": "advertisement", "label": "Ads"}),
        MetaChange("add_field", entity="lead", values={"name": "lead_score", "type": "integer"}),
        MetaChange("add_field", entity="lead", values={"name": "nickname", "type": "text"}),
        MetaChange("grant", role="sales_rep", entity="lead", values={
            "create": True, "read": True, "update": True, "scope": "own", "hidden_fields": ["title"]}),
    ], _leads, ("title", "job_title")),
    "service": Case("service", "case", [
        MetaChange("update_field", entity="case", field="satisfaction", values={"hidden": True}),
        MetaChange("update_option", entity="case", field="origin", values={"value": "email", "label": "Email (inbound)"}),
        MetaChange("add_field", entity="case", values={"name": "region_code", "type": "text"}),
    ], _cases, ("escalation_reason", "escalation_note")),
    "partners": Case("partners", "partner", [
        MetaChange("update_field", entity="partner", field="joined_on", values={"label": "Partner since (date)"}),
        MetaChange("add_field", entity="partner", values={"name": "scorecard", "type": "text"}),
    ], _partners, ("joined_on", "partner_since")),
}


def _snapshot(connection: Connection, table: str) -> dict[str, str]:
    """A checksum of every column's values, ordered by id."""
    live = Table(table, MetaData(), autoload_with=connection)
    rows = connection.execute(select(live).order_by(live.c.id)).mappings().all()
    return {c.name: hashlib.sha256(json.dumps([r[c.name] for r in rows], default=str).encode()).hexdigest()
            for c in live.columns}


def _count(connection: Connection, table: str, column: str | None = None, value: Any = None) -> int:
    live = Table(table, MetaData(), autoload_with=connection)
    query = select(func.count()).select_from(live)
    if column is not None:
        query = query.where(live.c[column] == value if value is not None else live.c[column].is_not(None))
    return connection.execute(query).scalar_one()


def _columns(connection: Connection, table: str) -> list[tuple[str, str, bool]]:
    return [(c["name"], str(c["type"]), c["nullable"]) for c in inspect(connection).get_columns(table)]


def _setup(copy: Installed, case: Case) -> dict[str, str]:
    _customize(copy.engine, case.customize)
    with copy.engine.begin() as connection:
        case.fill(connection)
    with copy.engine.connect() as connection:
        return _snapshot(connection, case.entity)


@pytest.mark.parametrize("pack", list(CASES))
def test_upgrading_a_customized_install_keeps_every_record_and_customization(installed: Installed, pack: str) -> None:  # noqa: F811
    case = CASES[pack]
    before = _setup(installed, case)
    plan = plan_upgrade(installed.engine, V2 / pack, CONTEXT)
    assert plan.ok, (plan.errors, plan.offending)
    with installed.engine.connect() as connection:  # the plan changed nothing
        assert _snapshot(connection, case.entity) == before
        assert store.load_catalog(connection).packs[pack].version == "1.0.0"
    result = upgrade_pack(installed.engine, V2 / pack, CONTEXT)
    assert result.plan.to_json() == plan.to_json()  # the plan is what the upgrade did

    old, new = case.renamed
    with installed.engine.connect() as connection:
        after = _snapshot(connection, case.entity)
        catalog = store.load_catalog(connection)
        assert _count(connection, case.entity) == RECORDS
        assert after[new] == before[old]  # renamed data moved
        assert {k: v for k, v in after.items() if k in before and k != old} == {k: v for k, v in before.items() if k != old}
        for line in plan.fields_where("retyped"):
            assert line.rows == _count(connection, case.entity, line.field)
        renamed = next(line for line in plan.fields if line.change == "renamed")
        assert (renamed.old_name, renamed.field) == (old, new)
        assert renamed.rows == _count(connection, case.entity, new)
        for line in plan.fields_where("added"):
            assert line.field in {c["name"] for c in inspect(connection).get_columns(case.entity)}
            if line.rows:
                assert _count(connection, case.entity, line.field) == line.rows
        for option in plan.options:
            if option.change == "kept_inactive":
                assert _count(connection, option.entity, option.field, option.value) == option.rows
                kept = catalog.entities[option.entity].field(option.field).option(option.value)
                assert kept is not None and not kept.active
        for name in plan.entities_added:
            assert catalog.entities[name].pack == pack and _count(connection, name) == 0
        assert connection.execute(select(packs.c.version).where(packs.c.name == pack)).scalar_one() == "2.0.0"
        history = connection.execute(select(schema_history.c.operation).where(
            schema_history.c.pack == pack, schema_history.c.pack_version == "2.0.0")).scalars().all()
        assert history[0] == "upgrade" and len(history) == 1 + len(plan.operations)
    _check_customizations(pack, catalog, installed, {(c.kind, c.name, c.property, c.admin_value, c.pack_value)
                                                     for c in plan.conflicts})


def _check_customizations(pack: str, catalog: Any, copy: Installed, plan_conflicts: set[tuple]) -> None:
    if pack == "crm":
        lead = catalog.entities["lead"]
        assert lead.field("job_title").label == "Position"
        assert lead.field("source").option("advertisement").label == "Ads"
        assert ("option", "lead.source=advertisement", "label", "Ads", "Advertising") in plan_conflicts
        assert lead.field("nickname").type == "text" and lead.field("lead_score").type == "integer"
        permission = next(p for p in catalog.roles["sales_rep"].permissions if p.entity == "lead")
        assert permission.hidden_fields == ("job_title",)
        assert "competitor" in catalog.entities and "Social leads start warm" in catalog.rule_files["crm/rules/follow_up.rules"].text
    elif pack == "service":
        case = catalog.entities["case"]
        assert case.field("satisfaction").hidden and case.field("origin").option("email").label == "Email (inbound)"
        assert case.field("region_code") is not None and case.field("language").required
        with copy.engine.connect() as connection:
            assert _count(connection, "case", "language", "en") == RECORDS
    else:
        partner = catalog.entities["partner"]
        assert partner.field("partner_since").label == "Partner since (date)"
        assert ("field", "partner.partner_since", "label", "Partner since (date)", "Partner since") in plan_conflicts
        assert partner.field("scorecard") is not None and partner.field("email").unique
        assert partner.field("tier").option("diamond") is not None
        assert partner.field("country").max_length == 3


def test_a_refused_upgrade_leaves_schema_and_data_as_they_were(installed: Installed) -> None:  # noqa: F811
    _customize(installed.engine, CASES["partners"].customize)
    with installed.engine.begin() as connection:
        _partners(connection, duplicate_email=True)
    with installed.engine.connect() as connection:
        before = _snapshot(connection, "partner")
        columns = _columns(connection, "partner")
        overlays = admin_store.stored_documents(connection, "admin", None)
        history = _count(connection, "xrm_schema_history")
    plan = plan_upgrade(installed.engine, V2 / "partners", CONTEXT)
    assert not plan.ok
    [offending] = plan.offending
    assert (offending.code, offending.count, [r["email"] for r in offending.sample]) == ("duplicates", 2, ["same@x.io"] * 2)
    assert next(c for c in plan.constraints if c.fields == ("email",)).violations == 2
    with pytest.raises(UpgradeRefused):
        upgrade_pack(installed.engine, V2 / "partners", CONTEXT)
    with installed.engine.connect() as connection:
        assert _snapshot(connection, "partner") == before
        assert _columns(connection, "partner") == columns
        assert admin_store.stored_documents(connection, "admin", None) == overlays
        assert _count(connection, "xrm_schema_history") == history
        assert store.load_catalog(connection).packs["partners"].version == "1.0.0"
        assert "partner_certification" not in inspect(connection).get_table_names()


def test_an_older_or_equal_version_is_refused(installed: Installed) -> None:  # noqa: F811
    plan = plan_upgrade(installed.engine, Path("packs") / "crm", CONTEXT)
    assert not plan.ok and "is not newer" in plan.errors[0].message


@pytest.mark.postgres
@pytest.mark.parametrize("installed", ["postgresql"], indirect=True)
def test_writes_during_an_upgrade_are_not_lost(installed: Installed) -> None:  # noqa: F811
    from xrm.ui.app import create_app

    with installed.engine.begin() as connection:
        _leads_without_admin_fields(connection)
    outcomes: list[int] = []
    stop = threading.Event()

    def writer(number: int) -> None:
        with TestClient(create_app(installed.engine)) as client:
            headers = {"Authorization": f"Bearer {installed.seed.tokens['admin']}"}
            sent = 0
            while not stop.is_set() or sent < 20:
                response = client.post("/api/lead", headers=headers, json={
                    "last_name": f"W{number}-{sent}", "company": "During", "email": f"w{number}.{sent}@x.io"})
                outcomes.append(response.status_code)
                sent += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        upgrade_pack(installed.engine, V2 / "crm", CONTEXT)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert outcomes and set(outcomes) == {201}
    with installed.engine.connect() as connection:
        assert _count(connection, "lead", "company", "During") == len(outcomes)
        assert _count(connection, "lead") == RECORDS + len(outcomes)


def _leads_without_admin_fields(connection: Connection) -> None:
    _insert(connection, "lead", [
        {**_system(i), "last_name": f"Doe {i}", "company": f"Co {i % 97}", "email": f"l{i}@x.io", "status": "new",
         "title": f"Title {i}"} for i in range(1, RECORDS + 1)])


def test_a_field_the_new_version_drops_keeps_its_data_and_can_be_restored_or_purged(installed: Installed,  # noqa: F811
                                                                                   tmp_path: Path) -> None:
    import shutil

    v2 = tmp_path / "service"
    shutil.copytree(V2 / "service", v2)
    case = json.loads((v2 / "entities" / "case.json").read_text())
    case["fields"] = [f for f in case["fields"] if f["name"] != "case_type"]
    (v2 / "entities" / "case.json").write_text(json.dumps(case))
    with installed.engine.begin() as connection:
        _insert(connection, "case", [{**_system(1), "case_number": "C-1", "subject": "s", "status": "new",
                                      "priority": "medium", "case_type": "question"}])
    plan = plan_upgrade(installed.engine, v2, CONTEXT)
    assert plan.ok, plan.errors
    assert [(f.field, f.rows) for f in plan.fields_where("removed")] == [("case_type", 1)]
    upgrade_pack(installed.engine, v2, CONTEXT)
    with installed.engine.connect() as connection:
        assert store.load_catalog(connection).entities["case"].field("case_type") is None
        overlay = admin_store.overlay(connection, "entity", "case")
        assert overlay is not None and "case_type" in overlay.definition["removed"]
        assert _count(connection, "case", "case_type", "question") == 1
    apply_change(installed.engine, MetaChange("restore_field", entity="case", field="case_type"), CONTEXT)
    with installed.engine.connect() as connection:
        assert store.load_catalog(connection).entities["case"].field("case_type").type == "picklist"
    apply_change(installed.engine, MetaChange("remove_field", entity="case", field="case_type"), CONTEXT)
    apply_change(installed.engine, MetaChange("purge_field", entity="case", field="case_type",
                                              values={"confirm": "case_type"}), CONTEXT)
    with installed.engine.connect() as connection:
        assert "case_type" not in {c["name"] for c in inspect(connection).get_columns("case")}
        assert _count(connection, "case") == 1


def test_a_renamed_autonumber_keeps_counting(installed: Installed, tmp_path: Path) -> None:  # noqa: F811
    import shutil

    from xrm.ui.app import create_app

    v2 = tmp_path / "service"
    shutil.copytree(V2 / "service", v2)
    for path in v2.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace("case_number", "ticket_number"))
    case = json.loads((v2 / "entities" / "case.json").read_text())
    next(f for f in case["fields"] if f["name"] == "ticket_number")["renamed_from"] = "case_number"
    (v2 / "entities" / "case.json").write_text(json.dumps(case))
    headers = {"Authorization": f"Bearer {installed.seed.tokens['admin']}"}
    with TestClient(create_app(installed.engine)) as client:
        first = client.post("/api/case", headers=headers, json={"subject": "Before"}).json()["case_number"]
        plan = plan_upgrade(installed.engine, v2, CONTEXT)
        assert ("case_number", "ticket_number") in {(f.old_name, f.field) for f in plan.fields}
        upgrade_pack(installed.engine, v2, CONTEXT)
        response = client.post("/api/case", headers=headers, json={"subject": "After"})
        assert response.status_code == 201, response.text
        assert response.json()["ticket_number"] > first


def test_a_field_an_administrator_removed_that_the_new_version_uses_must_be_restored_first(
        installed: Installed, tmp_path: Path) -> None:  # noqa: F811
    import shutil

    v2 = tmp_path / "crm"
    shutil.copytree(V2 / "crm", v2)
    (v2 / "views" / "leads_by_street.json").write_text(json.dumps(
        {"name": "leads_by_street", "entity": "lead", "label": "Leads by street", "columns": ["last_name", "street"]}))
    apply_change(installed.engine, MetaChange("remove_field", entity="lead", field="street"), CONTEXT)
    plan = plan_upgrade(installed.engine, v2, CONTEXT)
    assert not plan.ok
    assert [(c.name, c.blocking) for c in plan.conflicts if c.property == "removed"] == [("lead.street", True)]
    apply_change(installed.engine, MetaChange("restore_field", entity="lead", field="street"), CONTEXT)
    assert plan_upgrade(installed.engine, v2, CONTEXT).ok


def _renamed_sla_policy(tmp_path: Path) -> Path:
    """Service 2.0 with entity sla_policy renamed service_level (its file, lookups, views and roles follow)."""
    import shutil

    v2 = tmp_path / "service"
    shutil.copytree(V2 / "service", v2)
    for path in [*v2.glob("views/*.json"), *v2.glob("roles/*.json"), v2 / "entities" / "case.json"]:
        text = path.read_text()
        path.write_text(text.replace('"entity": "sla_policy"', '"entity": "service_level"')
                        .replace('"target": "sla_policy"', '"target": "service_level"')
                        .replace('"sla_policy": {', '"service_level": {'))
    old = v2 / "entities" / "sla_policy.json"
    document = json.loads(old.read_text())
    document.update(name="service_level", renamed_from="sla_policy")
    (v2 / "entities" / "service_level.json").write_text(json.dumps(document))
    old.unlink()
    return v2


def test_an_entity_the_new_version_renames_keeps_its_records_history_and_customizations(
        installed: Installed, tmp_path: Path) -> None:  # noqa: F811
    from xrm.ui.app import create_app

    v2 = _renamed_sla_policy(tmp_path)
    _customize(installed.engine, [
        MetaChange("update_field", entity="sla_policy", field="name", values={"label": "Policy"}),
        MetaChange("grant", role="sales_rep", entity="sla_policy", values={"read": True, "scope": "all"}),
        MetaChange("add_field", entity="case", values={"name": "backup_policy", "type": "lookup", "target": "sla_policy"}),
    ])
    headers = {"Authorization": f"Bearer {installed.seed.tokens['admin']}"}
    with TestClient(create_app(installed.engine)) as client:
        policy = client.post("/api/sla_policy", headers=headers, json={
            "name": "Gold", "priority": "high", "first_response_within": "1h", "resolve_within": "1d"}).json()
        case = client.post("/api/case", headers=headers, json={
            "subject": "S", "sla_policy": policy["id"], "backup_policy": policy["id"]}).json()
        plan = plan_upgrade(installed.engine, v2, CONTEXT)
        assert plan.ok, (plan.errors, plan.offending)
        assert plan.entities_renamed == (("sla_policy", "service_level", 1),) and plan.entities_removed == ()
        upgrade_pack(installed.engine, v2, CONTEXT)
        moved = client.get(f"/api/service_level/{policy['id']}", headers=headers)
        assert moved.status_code == 200 and moved.json()["name"] == "Gold"
        assert client.get(f"/api/sla_policy/{policy['id']}", headers=headers).status_code == 404
        linked = client.get(f"/api/case/{case['id']}", headers=headers).json()
        assert linked["sla_policy"] == linked["backup_policy"] == policy["id"]
        history = client.get(f"/api/service_level/{policy['id']}/timeline", headers=headers)
        assert history.status_code == 200 and history.json()["items"]
        rep = {"Authorization": f"Bearer {installed.seed.tokens['rep1']}"}
        assert client.get("/api/service_level", headers=rep).json()["total"] == 1
    with installed.engine.connect() as connection:
        catalog = store.load_catalog(connection)
        assert catalog.entities["service_level"].field("name").label == "Policy"
        assert catalog.entities["case"].field("backup_policy").target == "service_level"
        assert "sla_policy" not in inspect(connection).get_table_names()
        assert connection.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.entity == "service_level", audit_log.c.record_id == policy["id"])).scalar_one() == 1
        assert not connection.execute(select(audit_log.c.id).where(audit_log.c.entity == "sla_policy")).first()
