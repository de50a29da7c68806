"""The record service, the one write path: coerce → defaults/formulas → validation → hooks → write → audit.

Every test runs on a fresh copy of a database with the crm, service and
partners packs installed (SQLite and PostgreSQL), calling ``RecordService``
directly, without HTTP.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from tests.runtime.conftest import CAST, Installed
from xrm.context import Actor, Context
from xrm.runtime.audit import timeline
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.record_errors import Conflict, Forbidden, Invalid, NotFound, RecordError, StaleVersion
from xrm.runtime.records import RecordChange, RecordService
from xrm.system_tables import audit_log

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEAD = {"last_name": "Doe", "company": "ACME", "email": "doe@example.com"}
STAGES = ("before_write", "after_write")


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def service(installed: Installed) -> RecordService:
    return RecordService(CatalogCache(installed.engine).model())


def ctx(installed: Installed, name: str, source: str = "api") -> Context:
    """The cast member's context, built without a query (SQLite allows one writer: no second connection)."""
    roles, is_admin = CAST[name]
    actor = Actor(name, installed.seed.user_ids[name], frozenset(roles), is_admin)
    return Context(actor, source, NOW)  # type: ignore[arg-type]


def create(installed: Installed, service: RecordService, entity: str, values: dict[str, Any], *,
           user: str = "admin", source: str = "api") -> dict[str, Any]:
    with installed.engine.begin() as connection:
        return service.create(connection, ctx(installed, user, source), entity, values)


def update(installed: Installed, service: RecordService, entity: str, record_id: int, values: dict[str, Any], *,
           user: str = "admin", source: str = "api", expected_version: int | None = None) -> dict[str, Any]:
    with installed.engine.begin() as connection:
        return service.update(connection, ctx(installed, user, source), entity, record_id, values,
                              expected_version=expected_version)


def get(installed: Installed, service: RecordService, entity: str, record_id: int, *, user: str = "admin") -> dict[str, Any]:
    with installed.engine.connect() as connection:
        return service.get(connection, ctx(installed, user), entity, record_id)


def error_codes(error: RecordError) -> set[tuple[str | None, str]]:
    return {(e.field, e.code) for e in error.errors}


def audit_rows(installed: Installed, entity: str, record_id: int | None = None) -> list[dict[str, Any]]:
    statement = select(audit_log).where(audit_log.c.entity == entity).order_by(audit_log.c.id)
    if record_id is not None:
        statement = statement.where(audit_log.c.record_id == record_id)
    with installed.engine.connect() as connection:
        return [dict(r) for r in connection.execute(statement).mappings()]


def count(installed: Installed, service: RecordService, entity: str, **equal: Any) -> int:
    table = service.model.table(entity)
    statement = select(func.count()).select_from(table)
    for name, value in equal.items():
        statement = statement.where(table.c[name] == value)
    with installed.engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def changes_of(row: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["field"]: (c["old"], c["new"]) for c in row["changes"]}


class Recorder:
    """A write hook that remembers every change it is shown."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, RecordChange]] = []

    def before_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        self.seen.append(("before_write", change))

    def after_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        self.seen.append(("after_write", change))


class Refuser:
    """A write hook that refuses every change at one stage, as a failing rule would."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def before_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        if self.stage == "before_write":
            raise Invalid("a rule refused the change")

    def after_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        if self.stage == "after_write":
            raise Invalid("a rule refused the change")


# -- create: coercion, defaults, formulas, autonumbers ----------------------------------------------


def test_create_coerces_input_by_field_type(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {
        **LEAD, "number_of_employees": "42", "annual_revenue": "1234.5", "do_not_call": "yes",
        "converted_at": "2026-01-05T10:00:00+02:00", "website": "example.com", "rating": "Hot",
        "email": "  doe@example.com ",
    })
    stored = get(installed, service, "lead", lead["id"])
    for record in (lead, stored):
        assert record["number_of_employees"] == 42
        assert record["annual_revenue"] == Decimal("1234.50")
        assert record["do_not_call"] is True
        assert record["converted_at"] == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        assert record["website"] == "https://example.com"
        assert record["rating"] == "hot"
        assert record["email"] == "doe@example.com"


def test_create_coerces_dates(installed: Installed, service: RecordService) -> None:
    contact = create(installed, service, "contact", {"last_name": "Roe", "birthdate": "1990-05-01"})
    assert get(installed, service, "contact", contact["id"])["birthdate"] == date(1990, 5, 1)


def test_values_of_the_wrong_type_are_all_reported_at_once(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {**LEAD, "number_of_employees": "many", "annual_revenue": "lots",
                                            "rating": "bogus", "email": "not-an-e-mail", "do_not_call": "perhaps"})
    assert error_codes(caught.value) == {
        ("number_of_employees", "type"), ("annual_revenue", "type"), ("rating", "not_in_picklist"),
        ("email", "invalid_email"), ("do_not_call", "type"),
    }
    assert count(installed, service, "lead") == 0


def test_unknown_fields_and_system_columns_are_refused(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {**LEAD, "last_nam": "x", "version": 7, "created_at": "2026-01-01T00:00:00Z"})
    assert error_codes(caught.value) == {("last_nam", "unknown_field"), ("version", "read_only"),
                                         ("created_at", "read_only")}
    assert "last_name" in next(e.message for e in caught.value.errors if e.field == "last_nam")


def test_defaults_fill_fields_not_given(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    assert (lead["status"], lead["do_not_call"], lead["email_opt_out"]) == ("new", False, False)
    given = create(installed, service, "lead", {**LEAD, "last_name": "Other", "do_not_call": True, "email_opt_out": ""})
    assert (given["do_not_call"], given["email_opt_out"]) == (True, False)
    account = create(installed, service, "account", {"name": "ACME"})
    assert get(installed, service, "account", account["id"])["account_type"] == "prospect"
    assert create(installed, service, "account", {"name": "Globex", "account_type": "customer"})["account_type"] == "customer"
    opportunity = create(installed, service, "opportunity", {"name": "Deal", "account": account["id"]})
    assert (opportunity["stage"], opportunity["probability"], opportunity["forecast_category"]) == \
        ("prospecting", Decimal("10.00"), "pipeline")


def test_formulas_are_computed_on_create_and_on_update(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "first_name": "Jane"})
    assert lead["full_name"] == "Jane Doe"
    assert get(installed, service, "lead", lead["id"])["full_name"] == "Jane Doe"
    assert create(installed, service, "lead", {**LEAD, "last_name": "Solo"})["full_name"] == "Solo"
    assert update(installed, service, "lead", lead["id"], {"first_name": None})["full_name"] == "Doe"


def test_currency_formulas_are_stored_as_decimals(installed: Installed, service: RecordService) -> None:
    account = create(installed, service, "account", {"name": "ACME"})
    opportunity = create(installed, service, "opportunity", {"name": "Deal", "account": account["id"], "amount": "1000",
                                                             "discount_percent": "12.5", "probability": 50})
    stored = get(installed, service, "opportunity", opportunity["id"])
    assert stored["net_amount"] == Decimal("875.00")
    assert stored["expected_revenue"] == Decimal("500.00")


def test_autonumbers_count_up_without_gaps(installed: Installed, service: RecordService) -> None:
    numbers = [create(installed, service, "case", {"subject": "first"})["case_number"]]
    refusing = RecordService(service.model, hooks=[Refuser("after_write")])
    with pytest.raises(Invalid):  # numbered, written, then refused: the whole transaction rolls back
        create(installed, refusing, "case", {"subject": "refused"})
    numbers += [create(installed, service, "case", {"subject": s})["case_number"] for s in ("second", "third")]
    assert all(re.fullmatch(r"CASE-\d{5}", n) for n in numbers), numbers
    values = [int(n.removeprefix("CASE-")) for n in numbers]
    assert values == [values[0], values[0] + 1, values[0] + 2]
    assert values[0] == 1


def test_autonumbers_are_numbered_within_one_transaction(installed: Installed, service: RecordService) -> None:
    with installed.engine.begin() as connection:
        numbers = [service.create(connection, ctx(installed, "admin"), "case", {"subject": str(i)})["case_number"]
                   for i in range(3)]
    assert numbers == ["CASE-00001", "CASE-00002", "CASE-00003"]


def test_create_a_case_with_its_first_response_time(installed: Installed, service: RecordService) -> None:
    """A case entered after the fact: the formula and validation reading ``created_at`` see the creation time."""
    case = create(installed, service, "case", {"subject": "late entry", "first_response_at": "2026-03-02T10:30:00Z"})
    assert case["time_to_first_response"] == 5400


def test_autonumber_and_formula_fields_cannot_be_set(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "case", {"subject": "x", "case_number": "CASE-99999", "time_to_resolve": 5})
    assert error_codes(caught.value) == {("case_number", "read_only"), ("time_to_resolve", "read_only")}


# -- create: required fields, validation rules, owner, references -----------------------------------


def test_required_fields_are_reported_together(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {"last_name": "  ", "email": "x@example.com"})
    assert error_codes(caught.value) == {("last_name", "required"), ("company", "required")}


def test_validation_rules_are_reported_all_at_once(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {"last_name": "Doe", "company": "ACME", "annual_revenue": -5,
                                            "number_of_employees": -1, "country": "de"})
    assert error_codes(caught.value) == {
        ("email", "validation:email_or_phone"), ("phone", "validation:email_or_phone"),
        ("annual_revenue", "validation:annual_revenue_not_negative"),
        ("number_of_employees", "validation:employees_not_negative"),
        ("country", "validation:country_code_format"),
    }
    messages = {e.message for e in caught.value.errors}
    assert "Annual revenue cannot be negative." in messages
    assert count(installed, service, "lead") == 0


def test_a_field_is_required_while_its_required_when_holds(installed: Installed, service: RecordService) -> None:
    account = create(installed, service, "account", {"name": "Required When Inc"})
    values = {"name": "Lost deal", "account": account["id"], "loss_reason": "competitor"}
    with pytest.raises(Invalid) as caught:
        create(installed, service, "opportunity", values)
    assert error_codes(caught.value) == {("competitor", "required")}
    assert caught.value.errors[0].message == "'Main Competitor' is required when loss_reason = 'competitor'"
    saved = create(installed, service, "opportunity", {**values, "loss_reason": "price"})
    with pytest.raises(Invalid):
        update(installed, service, "opportunity", saved["id"], {"loss_reason": "competitor"})
    changed = update(installed, service, "opportunity", saved["id"], {"loss_reason": "competitor", "competitor": "Initrode"})
    assert changed["competitor"] == "Initrode"


def test_validation_rules_comparing_fields(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "campaign", {"name": "Spring", "start_date": "2026-04-01", "end_date": "2026-03-31"})
    assert error_codes(caught.value) == {("end_date", "validation:end_after_start")}
    campaign = create(installed, service, "campaign", {"name": "Spring", "start_date": "2026-04-01", "end_date": "2026-04-01"})
    with pytest.raises(Invalid) as caught:
        update(installed, service, "campaign", campaign["id"], {"start_date": "2026-04-02"})
    assert error_codes(caught.value) == {("end_date", "validation:end_after_start")}


def test_a_workflow_state_is_not_set_by_people(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {**LEAD, "status": "working"})
    assert error_codes(caught.value) == {("status", "workflow_field")}
    assert create(installed, service, "lead", {**LEAD, "status": "new"})["status"] == "new"


def test_imports_bring_records_in_the_state_they_are_in(installed: Installed, service: RecordService) -> None:
    """Imports may set a workflow's state directly (``_STATE_SETTING_SOURCES``), and the state's rules apply."""
    lead = create(installed, service, "lead", {**LEAD, "status": "unqualified", "disqualification_reason": "no_budget"},
                  source="import")
    assert lead["status"] == "unqualified"
    assert get(installed, service, "lead", lead["id"])["status"] == "unqualified"
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {**LEAD, "status": "unqualified"}, source="import")
    assert error_codes(caught.value) == {("disqualification_reason", "validation:unqualified_needs_reason")}


def test_sending_a_workflow_state_unchanged_is_no_change(installed: Installed, service: RecordService) -> None:
    """A form sending every field back, the state among them, changes nothing rather than being refused."""
    lead = create(installed, service, "lead", {**LEAD, "city": "Berlin"})
    same = update(installed, service, "lead", lead["id"], {"city": "Berlin", "status": "new"}, source="ui")
    assert same["version"] == 1


def test_missing_required_fields_and_broken_rules_are_reported_together(installed: Installed,
                                                                        service: RecordService) -> None:
    """Every field error at once: a missing company does not hide that no e-mail or phone was given."""
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {"last_name": "Doe", "annual_revenue": -5})
    assert error_codes(caught.value) >= {("company", "required"), ("email", "validation:email_or_phone"),
                                         ("annual_revenue", "validation:annual_revenue_not_negative")}


def test_malformed_values_and_missing_required_fields_are_reported_together(installed: Installed,
                                                                            service: RecordService) -> None:
    """Every field error at once: a malformed e-mail does not hide that the last name is missing."""
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {"company": "ACME", "email": "not-an-e-mail"})
    assert error_codes(caught.value) >= {("email", "invalid_email"), ("last_name", "required")}


def test_owner_defaults_to_the_actor(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD, user="rep1")
    rep1 = installed.seed.user_ids["rep1"]
    assert (lead["owner_id"], lead["created_by"], lead["updated_by"]) == (rep1, rep1, rep1)
    assert lead["version"] == 1
    assert lead["created_at"] == lead["updated_at"] == NOW
    assert get(installed, service, "lead", lead["id"])["owner_id"] == rep1


def test_owner_may_be_given(installed: Installed, service: RecordService) -> None:
    rep2 = installed.seed.user_ids["rep2"]
    lead = create(installed, service, "lead", {**LEAD, "owner_id": rep2})
    assert lead["owner_id"] == rep2
    assert lead["created_by"] == installed.seed.user_ids["admin"]


def test_unknown_owner_is_refused_as_not_found(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "lead", {**LEAD, "owner_id": 987654})
    assert error_codes(caught.value) == {("owner_id", "not_found")}


def test_unknown_lookup_id_is_refused_as_not_found(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid) as caught:
        create(installed, service, "contact", {"last_name": "Roe", "account": 987654, "reports_to": "987655"})
    assert error_codes(caught.value) == {("account", "not_found"), ("reports_to", "not_found")}
    assert count(installed, service, "contact") == 0


def test_lookup_must_point_to_a_record_of_its_target_entity(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)  # an id that exists, but in another table
    with pytest.raises(Invalid) as caught:
        create(installed, service, "contact", {"last_name": "Roe", "account": lead["id"] + 1000})
    assert error_codes(caught.value) == {("account", "not_found")}


def test_create_needs_the_create_permission(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Forbidden):
        create(installed, service, "lead", LEAD, user="agent")
    with pytest.raises(Forbidden):
        create(installed, service, "lead", LEAD, user="nobody")


# -- reading -----------------------------------------------------------------------------------


def test_get_is_limited_to_the_record_scope(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD, user="rep1")
    assert get(installed, service, "lead", lead["id"], user="rep1")["id"] == lead["id"]
    assert get(installed, service, "lead", lead["id"], user="manager")["id"] == lead["id"]
    for outsider in ("rep2", "rep3"):  # lead scope is "own" for sales reps, team mates included
        with pytest.raises(NotFound):
            get(installed, service, "lead", lead["id"], user=outsider)


def test_get_leaves_out_hidden_fields(installed: Installed, service: RecordService) -> None:
    campaign = create(installed, service, "campaign", {"name": "Spring", "budgeted_cost": "100"})
    seen_by_rep = get(installed, service, "campaign", campaign["id"], user="rep1")
    assert "budgeted_cost" not in seen_by_rep and "actual_cost" not in seen_by_rep
    assert seen_by_rep["name"] == "Spring"
    assert get(installed, service, "campaign", campaign["id"])["budgeted_cost"] == Decimal("100.00")


def test_get_with_a_malformed_id_is_not_found(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    assert lead["id"] == 1
    for record_id in (0, -1, "1", 2**63, True, None, 1.0):
        with pytest.raises(NotFound):
            get(installed, service, "lead", record_id)


# -- update ------------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "title": "CEO", "city": "Berlin"}, user="rep1")
    changed = update(installed, service, "lead", lead["id"], {"city": "Paris"}, user="rep1")
    assert changed["city"] == "Paris"
    assert {k: v for k, v in changed.items() if k not in ("city", "version")} == \
        {k: v for k, v in lead.items() if k not in ("city", "version")}
    assert changed["version"] == 2
    rows = audit_rows(installed, "lead", lead["id"])
    assert [r["action"] for r in rows] == ["create", "update"]
    assert changes_of(rows[-1]) == {"city": ("Berlin", "Paris")}
    assert rows[-1]["record_version"] == 2


def test_update_records_who_and_when(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD, user="rep1")
    later = Context(ctx(installed, "manager").actor, "ui", datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    with installed.engine.begin() as connection:
        changed = service.update(connection, later, "lead", lead["id"], {"title": "CTO"})
    assert changed["updated_by"] == installed.seed.user_ids["manager"]
    assert changed["updated_at"] == later.now
    assert (changed["created_by"], changed["created_at"]) == (lead["created_by"], lead["created_at"])
    assert changed["owner_id"] == installed.seed.user_ids["rep1"]


def test_an_update_changing_nothing_keeps_the_version_and_writes_no_audit(installed: Installed,
                                                                         service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "city": "Berlin", "annual_revenue": "100"})
    same = update(installed, service, "lead", lead["id"], {"city": "Berlin", "annual_revenue": "100.00", "rating": ""})
    assert same["version"] == 1
    assert same["updated_at"] == lead["updated_at"]
    assert len(audit_rows(installed, "lead", lead["id"])) == 1
    assert get(installed, service, "lead", lead["id"])["version"] == 1


def test_update_with_a_stale_version_is_refused(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    update(installed, service, "lead", lead["id"], {"city": "Paris"}, expected_version=1)
    with pytest.raises(StaleVersion) as caught:
        update(installed, service, "lead", lead["id"], {"city": "Rome"}, expected_version=1)
    assert caught.value.current_version == 2
    assert get(installed, service, "lead", lead["id"])["city"] == "Paris"
    assert update(installed, service, "lead", lead["id"], {"city": "Rome"}, expected_version=2)["version"] == 3


def test_update_refuses_computed_fields(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    with pytest.raises(Invalid) as caught:
        update(installed, service, "lead", lead["id"], {"full_name": "Someone Else"})
    assert error_codes(caught.value) == {("full_name", "read_only")}
    case = create(installed, service, "case", {"subject": "x"})
    with pytest.raises(Invalid) as caught:
        update(installed, service, "case", case["id"], {"case_number": "CASE-00042"}, source="import")
    assert error_codes(caught.value) == {("case_number", "read_only")}


def test_read_only_fields_are_refused_from_people(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    for source in ("api", "ui"):
        with pytest.raises(Invalid) as caught:
            update(installed, service, "lead", lead["id"], {"last_activity_at": "2026-03-01T08:00:00Z"}, source=source)
        assert error_codes(caught.value) == {("last_activity_at", "read_only")}
        with pytest.raises(Invalid):
            create(installed, service, "lead", {**LEAD, "last_activity_at": "2026-03-01T08:00:00Z"}, source=source)
    # the crm pack's rules start the activity clock at creation; people still cannot move it
    assert get(installed, service, "lead", lead["id"])["last_activity_at"] == lead["last_activity_at"] is not None


def test_read_only_fields_are_set_by_rules_and_imports(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    for day, source in enumerate(("rule", "import"), start=1):
        moment = f"2026-03-0{day}T08:00:00Z"
        changed = update(installed, service, "lead", lead["id"], {"last_activity_at": moment}, source=source)
        assert changed["last_activity_at"] == datetime(2026, 3, day, 8, 0, tzinfo=UTC)
        imported = create(installed, service, "lead", {**LEAD, "last_activity_at": moment}, source=source)
        assert imported["last_activity_at"] == datetime(2026, 3, day, 8, 0, tzinfo=UTC)


def test_role_read_only_fields_are_forbidden(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD, user="marketing")
    account = create(installed, service, "account", {"name": "ACME"})
    with pytest.raises(Forbidden) as caught:
        update(installed, service, "lead", lead["id"], {"converted_account": account["id"]}, user="marketing")
    assert error_codes(caught.value) == {("converted_account", "not_permitted")}


def test_update_outside_the_scope_is_not_found(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD, user="rep1")
    with pytest.raises(NotFound):
        update(installed, service, "lead", lead["id"], {"city": "Oslo"}, user="rep2")
    account = create(installed, service, "account", {"name": "ACME"}, user="rep1")
    assert update(installed, service, "account", account["id"], {"phone": "+1 555 0100"}, user="rep3")["version"] == 2
    with pytest.raises(NotFound):
        update(installed, service, "account", account["id"], {"phone": "+1 555 0101"}, user="rep2")


def test_update_validates_the_whole_record(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    with pytest.raises(Invalid) as caught:
        update(installed, service, "lead", lead["id"], {"email": None})
    assert ("email", "validation:email_or_phone") in error_codes(caught.value)
    assert get(installed, service, "lead", lead["id"])["email"] == "doe@example.com"


def test_unique_fields_conflict(installed: Installed, service: RecordService) -> None:
    create(installed, service, "account", {"name": "ACME"})
    other = create(installed, service, "account", {"name": "Globex"})
    with pytest.raises(Conflict) as caught:
        create(installed, service, "account", {"name": "ACME"})
    assert error_codes(caught.value) == {("name", "unique")}
    with pytest.raises(Conflict):
        update(installed, service, "account", other["id"], {"name": "ACME"})
    assert count(installed, service, "account", name="ACME") == 1


# -- delete ------------------------------------------------------------------------------------


def test_delete_is_blocked_while_restricting_lookups_point_to_the_record(installed: Installed,
                                                                        service: RecordService) -> None:
    account = create(installed, service, "account", {"name": "ACME"})
    for name in ("One", "Two"):
        create(installed, service, "opportunity", {"name": name, "account": account["id"]})
    with pytest.raises(Conflict) as caught, installed.engine.begin() as connection:
        service.delete(connection, ctx(installed, "admin"), "account", account["id"])
    assert error_codes(caught.value) == {(None, "referenced")}
    message = caught.value.errors[0].message
    assert "2 opportunities" in message and "'Account'" in message
    assert count(installed, service, "account") == 1
    assert [r["action"] for r in audit_rows(installed, "account", account["id"])] == ["create"]


def test_delete_clears_set_null_references_as_audited_updates(installed: Installed, service: RecordService) -> None:
    account = create(installed, service, "account", {"name": "ACME"})
    contact = create(installed, service, "contact", {"last_name": "Roe", "account": account["id"]})
    with installed.engine.begin() as connection:
        service.delete(connection, ctx(installed, "manager"), "account", account["id"])
    cleared = get(installed, service, "contact", contact["id"])
    assert cleared["account"] is None
    assert cleared["version"] == 2
    assert cleared["updated_by"] == installed.seed.user_ids["manager"]
    row = audit_rows(installed, "contact", contact["id"])[-1]
    assert row["action"] == "update"
    assert changes_of(row) == {"account": (account["id"], None)}
    assert row["note"] == f"'Account' cleared because account #{account['id']} was deleted"
    assert row["actor"] == "manager"
    assert count(installed, service, "account") == 0


def test_delete_cascades_to_dependent_records_with_audit(installed: Installed, service: RecordService) -> None:
    campaign = create(installed, service, "campaign", {"name": "Spring"})
    lead = create(installed, service, "lead", LEAD)
    other = create(installed, service, "lead", {**LEAD, "last_name": "Other"})
    members = [create(installed, service, "campaign_member", {"campaign": campaign["id"], "lead": lead_id})
               for lead_id in (lead["id"], other["id"])]
    assert members[0]["member_name"] == "Doe"
    with installed.engine.begin() as connection:
        service.delete(connection, ctx(installed, "marketing"), "campaign", campaign["id"])
    assert count(installed, service, "campaign_member") == 0
    assert count(installed, service, "lead") == 2
    for member in members:
        row = audit_rows(installed, "campaign_member", member["id"])[-1]
        assert row["action"] == "delete"
        assert row["note"] == f"deleted because campaign #{campaign['id']} was deleted"
        assert changes_of(row)["campaign"] == (campaign["id"], None)
    assert audit_rows(installed, "campaign", campaign["id"])[-1]["action"] == "delete"


def test_delete_is_audited_with_the_old_values(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "annual_revenue": "10"})
    with installed.engine.begin() as connection:
        service.delete(connection, ctx(installed, "admin", "ui"), "lead", lead["id"], expected_version=1)
    row = audit_rows(installed, "lead", lead["id"])[-1]
    assert (row["action"], row["source"], row["record_version"], row["note"]) == ("delete", "ui", 1, None)
    changes = changes_of(row)
    assert changes["last_name"] == ("Doe", None)
    assert changes["annual_revenue"] == ("10.00", None)
    with pytest.raises(NotFound):
        get(installed, service, "lead", lead["id"])


def test_delete_checks_permission_version_and_existence(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD, user="rep1")
    update(installed, service, "lead", lead["id"], {"city": "Oslo"})
    with installed.engine.begin() as connection:
        with pytest.raises(Forbidden):  # sales reps may not delete leads
            service.delete(connection, ctx(installed, "rep1"), "lead", lead["id"])
        with pytest.raises(StaleVersion):
            service.delete(connection, ctx(installed, "manager"), "lead", lead["id"], expected_version=1)
        with pytest.raises(NotFound):
            service.delete(connection, ctx(installed, "manager"), "lead", lead["id"] + 1000)
    assert count(installed, service, "lead") == 1


# -- atomicity ---------------------------------------------------------------------------------


def test_a_refusing_hook_on_create_leaves_nothing_written(installed: Installed, service: RecordService) -> None:
    for stage in STAGES:
        with pytest.raises(Invalid):
            create(installed, RecordService(service.model, hooks=[Refuser(stage)]), "lead", LEAD)
        assert count(installed, service, "lead") == 0
        assert audit_rows(installed, "lead") == []


def test_a_refusing_hook_on_update_leaves_the_record_unchanged(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", LEAD)
    for stage in STAGES:
        with pytest.raises(Invalid):
            update(installed, RecordService(service.model, hooks=[Refuser(stage)]), "lead", lead["id"], {"city": "Oslo"})
        stored = get(installed, service, "lead", lead["id"])
        assert (stored["city"], stored["version"]) == (None, 1)
        assert len(audit_rows(installed, "lead", lead["id"])) == 1


def test_a_refusing_hook_on_a_cascaded_delete_leaves_everything(installed: Installed, service: RecordService) -> None:
    account = create(installed, service, "account", {"name": "ACME"})
    create(installed, service, "contact", {"last_name": "Roe", "account": account["id"]})
    context = ctx(installed, "admin")
    for stage in STAGES:
        with pytest.raises(Invalid), installed.engine.begin() as connection:
            RecordService(service.model, hooks=[Refuser(stage)]).delete(connection, context, "account", account["id"])
        assert count(installed, service, "account") == 1
        assert count(installed, service, "contact", account=account["id"]) == 1
        assert len(audit_rows(installed, "contact")) == 1


def test_a_failure_among_several_creates_rolls_back_all_of_them(installed: Installed, service: RecordService) -> None:
    with pytest.raises(Invalid), installed.engine.begin() as connection:
        context = ctx(installed, "admin")
        service.create(connection, context, "lead", {**LEAD, "last_name": "First"})
        service.create(connection, context, "case", {"subject": "numbered"})
        service.create(connection, context, "lead", {"last_name": "Broken"})  # no company, no e-mail
        service.create(connection, context, "lead", {**LEAD, "last_name": "Never"})
    assert count(installed, service, "lead") == 0
    assert count(installed, service, "case") == 0
    assert audit_rows(installed, "lead") == [] and audit_rows(installed, "case") == []
    assert create(installed, service, "case", {"subject": "after"})["case_number"] == "CASE-00001"


def test_a_refused_write_caught_by_the_caller_leaves_nothing_of_itself(installed: Installed,
                                                                      service: RecordService) -> None:
    """An import that skips refused rows and commits the rest must not keep half of a refused row."""
    refusing = RecordService(service.model, hooks=[Refuser("after_write")])
    with installed.engine.begin() as connection:
        context = ctx(installed, "admin", "import")
        service.create(connection, context, "lead", {**LEAD, "last_name": "Kept"})
        with pytest.raises(Invalid):
            refusing.create(connection, context, "lead", {**LEAD, "last_name": "Refused"})
    assert count(installed, service, "lead", last_name="Kept") == 1
    assert count(installed, service, "lead", last_name="Refused") == 0
    assert len(audit_rows(installed, "lead")) == 1


# -- audit -------------------------------------------------------------------------------------


def test_audit_rows_hold_json_values_source_and_actor(installed: Installed, service: RecordService) -> None:
    account = create(installed, service, "account", {"name": "ACME"})
    opportunity = create(installed, service, "opportunity", {
        "name": "Deal", "account": account["id"], "amount": "1234.5", "close_date": "2026-06-30",
    }, user="manager", source="import")
    row = audit_rows(installed, "opportunity", opportunity["id"])[0]
    assert (row["action"], row["actor"], row["actor_id"], row["source"]) == \
        ("create", "manager", installed.seed.user_ids["manager"], "import")
    assert row["at"] == NOW and row["record_version"] == 1
    changes = changes_of(row)
    assert changes["amount"] == (None, "1234.50")
    assert changes["close_date"] == (None, "2026-06-30")
    assert changes["probability"] == (None, "10.00")
    assert changes["net_amount"] == (None, "1234.50")
    assert changes["account"] == (None, account["id"])
    assert changes["owner_id"] == (None, installed.seed.user_ids["manager"])
    assert "description" not in changes  # empty fields are not listed on create
    update(installed, service, "opportunity", opportunity["id"], {"amount": 2000, "close_date": "2026-07-01"},
           user="manager", source="ui")
    last = audit_rows(installed, "opportunity", opportunity["id"])[-1]
    assert last["source"] == "ui"
    assert changes_of(last) == {
        "amount": ("1234.50", "2000.00"), "close_date": ("2026-06-30", "2026-07-01"),
        "net_amount": ("1234.50", "2000.00"), "expected_revenue": ("123.45", "200.00"),
    }


def test_audit_datetimes_are_iso_text(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "converted_at": "2026-01-05T10:00:00+02:00"})
    changes = changes_of(audit_rows(installed, "lead", lead["id"])[0])
    assert datetime.fromisoformat(changes["converted_at"][1]) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_timeline_hides_fields_the_reader_may_not_see(installed: Installed, service: RecordService) -> None:
    campaign = create(installed, service, "campaign", {"name": "Spring", "budgeted_cost": "100"})
    update(installed, service, "campaign", campaign["id"], {"budgeted_cost": "200", "active": False})
    with installed.engine.connect() as connection:
        full = timeline(connection, "campaign", campaign["id"])
        hidden = timeline(connection, "campaign", campaign["id"], hidden_fields=frozenset({"budgeted_cost"}))
    assert [e.action for e in full] == ["update", "create"]
    assert {c.field for c in full[0].changes} == {"budgeted_cost", "active"}
    assert {c.field for c in hidden[0].changes} == {"active"}
    assert {c["field"]: (c["old"], c["new"]) for c in full[0].as_json()["changes"]} == \
        {"budgeted_cost": ("100.00", "200.00"), "active": (True, False)}
    assert (full[0].as_json()["version"], full[0].as_json()["actor"], full[0].as_json()["source"]) == (2, "admin", "api")


# -- hooks -------------------------------------------------------------------------------------


def test_hooks_see_each_create_before_and_after_it_is_written(installed: Installed, service: RecordService) -> None:
    recorder = Recorder()
    hooked = RecordService(service.model, hooks=[recorder])
    lead = create(installed, hooked, "lead", {**LEAD, "first_name": "Jane"})
    assert [stage for stage, _ in recorder.seen] == ["before_write", "after_write"]
    before, after = (change for _, change in recorder.seen)
    assert (before.entity, before.action, before.record_id, before.before) == ("lead", "create", None, None)
    assert before.after is not None and before.after["full_name"] == "Jane Doe" and before.after["status"] == "new"
    # on create, "changed" is every field that holds a value: given, defaulted, computed or set by rules
    assert before.changed == frozenset({"last_name", "company", "email", "first_name", "full_name", "status",
                                        "do_not_call", "email_opt_out", "owner_id", "last_activity_at"})
    assert after.record_id == lead["id"] and after.after is not None and after.after["id"] == lead["id"]
    assert after.after["version"] == 1


def test_hooks_see_each_update_with_the_values_before_and_after(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "city": "Berlin"})
    recorder = Recorder()
    update(installed, RecordService(service.model, hooks=[recorder]), "lead", lead["id"], {"city": "Paris"})
    assert [stage for stage, _ in recorder.seen] == ["before_write", "after_write"]
    for _, change in recorder.seen:
        assert (change.action, change.record_id) == ("update", lead["id"])
        assert change.before is not None and change.before["city"] == "Berlin" and change.before["version"] == 1
        assert change.after is not None and change.after["city"] == "Paris"
        assert "city" in change.changed
        assert change.transition is None
    assert recorder.seen[1][1].after["version"] == 2  # type: ignore[index]


def test_hooks_are_not_called_for_an_update_changing_nothing(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "city": "Berlin"})
    recorder = Recorder()
    update(installed, RecordService(service.model, hooks=[recorder]), "lead", lead["id"], {"city": "Berlin"})
    assert recorder.seen == []


def test_hook_changed_names_only_fields_whose_value_changed(installed: Installed, service: RecordService) -> None:
    lead = create(installed, service, "lead", {**LEAD, "first_name": "Jane", "city": "Berlin"})
    recorder = Recorder()
    update(installed, RecordService(service.model, hooks=[recorder]), "lead", lead["id"],
           {"city": "Berlin", "first_name": "Janet"})
    change = recorder.seen[0][1]
    assert "first_name" in change.changed
    assert "city" not in change.changed  # given, but with the value it already had
    assert "full_name" in change.changed  # recomputed from first_name


def test_hooks_see_deletes_and_their_cascades(installed: Installed, service: RecordService) -> None:
    account = create(installed, service, "account", {"name": "ACME"})
    contact = create(installed, service, "contact", {"last_name": "Roe", "account": account["id"]})
    recorder = Recorder()
    with installed.engine.begin() as connection:
        RecordService(service.model, hooks=[recorder]).delete(connection, ctx(installed, "admin"), "account", account["id"])
    seen = [(stage, c.entity, c.action, c.record_id) for stage, c in recorder.seen]
    assert seen == [
        ("before_write", "account", "delete", account["id"]),
        ("before_write", "contact", "update", contact["id"]),
        ("after_write", "contact", "update", contact["id"]),
        ("after_write", "account", "delete", account["id"]),
    ]
    deleted = recorder.seen[0][1]
    assert deleted.after is None and deleted.before is not None and deleted.before["name"] == "ACME"
    assert recorder.seen[1][1].changed == frozenset({"account"})


def test_a_formula_reading_a_lookup_follows_changes_of_the_related_record(installed: Installed,
                                                                           service: RecordService) -> None:
    """``campaign_member.member_name`` is ``coalesce(contact.full_name, lead.full_name)``: renaming the lead renames it."""
    campaign = create(installed, service, "campaign", {"name": "Spring"})
    lead = create(installed, service, "lead", {**LEAD, "first_name": "Jane"})
    member = create(installed, service, "campaign_member", {"campaign": campaign["id"], "lead": lead["id"]})
    assert member["member_name"] == "Jane Doe"
    update(installed, service, "lead", lead["id"], {"last_name": "Smith"})
    assert get(installed, service, "campaign_member", member["id"])["member_name"] == "Jane Smith"
