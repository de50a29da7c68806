"""The OpenAPI document at ``/api/openapi.json``: valid OpenAPI 3.1, typed from the packs, and true to the answers.

The expectations are read from the packs' own entity files (not from the
platform's model), so a field type mapped wrongly, a lost enum or a wrong
``required`` list shows up here.  Real answers of the API (a created record, a
list page, a timeline, every kind of problem) are validated with ``jsonschema``
against the document's own components, formats included.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from tests.conftest import PACKS_DIR
from tests.runtime.conftest import Api

ENTITIES: dict[str, dict[str, Any]] = {
    entity["name"]: entity for entity in (json.loads(p.read_text()) for p in sorted(PACKS_DIR.glob("*/entities/*.json")))
}
COMPUTED = ("formula", "autonumber")
#: (entity, field) holding a workflow's state: moved by transitions, so never an input.
WORKFLOW_FIELDS = {(flow["entity"], flow["field"]) for flow in
                   (json.loads(p.read_text()) for p in sorted(PACKS_DIR.glob("*/workflows/*.json")))}


def is_input(entity: str, field: dict[str, Any]) -> bool:
    """Whether a client may send the field: not computed, not read-only, not a workflow state."""
    return field["type"] not in COMPUTED and not field.get("read_only") and (entity, field["name"]) not in WORKFLOW_FIELDS
PROBLEM = "application/problem+json"
DECIMAL_PATTERN_ACCEPTS = ["0", "12.50", "-3", "1234567890123456.25", "0.5"]
DECIMAL_PATTERN_REFUSES = ["1e3", "12,5", "abc", "", "1.", ".5", "+1", " 1"]


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.as_(None).get("/api/openapi.json")  # public: no token
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def validator(document: dict[str, Any], component: str) -> Draft202012Validator:
    """A validator of one component schema, resolving the document's $refs, checking formats."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(document: dict[str, Any], component: str, instance: Any) -> None:
    errors = sorted(validator(document, component).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{component}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def response_schema(document: dict[str, Any], path: str, method: str, status: int) -> tuple[str, dict[str, Any]]:
    """(media type, schema) the document gives for ``status`` of the operation, following a response $ref."""
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}: {sorted(responses)}"
    response = responses[str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    ((media_type, content),) = response["content"].items()
    return media_type, content["schema"]


def assert_documented(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer's status is documented for the operation, with its media type, and its body fits the schema."""
    media_type, schema = response_schema(document, path, method, response.status_code)
    assert response.headers["content-type"].split(";")[0] == media_type
    full = {**schema, "components": document["components"]}
    errors = list(Draft202012Validator(full, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(response.json()))
    assert not errors, f"{method} {path} → {response.status_code}: " + "; ".join(e.message for e in errors)


# -- the document as a whole -----------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    errors = [str(e) for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_the_validator_refuses_an_invalid_document() -> None:
    """The validator is really looking: a response without description, a bad type name each make it fail."""
    def tiny(response: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
        return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
                "paths": {"/x": {"get": {"responses": {"200": response}}}}, "components": {"schemas": {"X": schema}}}

    assert list(OpenAPIV31SpecValidator(tiny({"description": "ok"}, {"type": "integer"})).iter_errors()) == []
    assert list(OpenAPIV31SpecValidator(tiny({}, {"type": "integer"})).iter_errors())
    assert list(OpenAPIV31SpecValidator(tiny({"description": "ok"}, {"type": "int"})).iter_errors())


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for item in document["paths"].values()
           for method, operation in item.items() if method != "parameters"]
    assert len(ids) == len(set(ids))


# -- one schema per entity, typed from the packs ---------------------------------------------


def expected_schema(field: dict[str, Any], *, reading: bool) -> dict[str, Any]:
    """What the field's JSON Schema must say (the keywords checked), from the pack's declaration."""
    kind = field["type"]
    if kind == "formula":
        kind = field.get("returns") or "text"
        if kind == "text":
            kind = "long_text"  # a text formula is unbounded
    options = [o["value"] for o in field.get("options", []) if reading or o.get("active", True)]
    match kind:
        case "text":
            return {"type": "string", "maxLength": field.get("max_length", 255)}
        case "long_text" | "phone" | "autonumber":
            return {"type": "string"}
        case "email":
            return {"type": "string", "format": "email"}
        case "url":
            return {"type": "string", "format": "uri"}
        case "integer" | "lookup" | "user" | "duration":
            return {"type": "integer"}
        case "decimal" | "currency" | "percent":
            return {"type": "string", "format": "decimal"}
        case "boolean":
            return {"type": "boolean"}
        case "date":
            return {"type": "string", "format": "date"}
        case "datetime":
            return {"type": "string", "format": "date-time"}
        case "picklist":
            return {"type": "string", "enum": options}
        case "multi_picklist":
            return {"type": "array", "items": {"enum": options}}
    raise AssertionError(f"field type {kind!r} of {field['name']} has no expectation in this test")


def assert_field_schema(actual: dict[str, Any], field: dict[str, Any], *, reading: bool, where: str) -> None:
    expected = expected_schema(field, reading=reading)
    nullable = isinstance(actual.get("type"), list)
    kinds = actual["type"] if nullable else [actual["type"]]
    assert kinds[0] == expected["type"], f"{where}: {actual}"
    assert set(kinds) <= {expected["type"], "null"}, f"{where}: {actual}"
    for keyword in ("format", "maxLength"):
        if keyword in expected:
            assert actual.get(keyword) == expected[keyword], f"{where}: {keyword} {actual}"
    if "enum" in expected:
        assert [v for v in actual["enum"] if v is not None] == expected["enum"], f"{where}: {actual}"
        assert (None in actual["enum"]) == nullable, f"{where}: null in the type but not in the enum: {actual}"
    if "items" in expected:
        assert actual["items"].get("type") == "string" and actual["items"]["enum"] == expected["items"]["enum"], where
    if expected.get("format") == "decimal":
        pattern = re.compile(actual["pattern"])
        assert all(pattern.search(text) for text in DECIMAL_PATTERN_ACCEPTS), f"{where}: {actual['pattern']}"
        assert not any(pattern.search(text) for text in DECIMAL_PATTERN_REFUSES), f"{where}: {actual['pattern']}"


def test_every_entity_has_its_schemas_with_real_types(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert len(ENTITIES) >= 14
    for name, entity in ENTITIES.items():
        record, create, change, page = (schemas[pascal(name) + suffix] for suffix in ("", "Create", "Change", "Page"))
        assert record["type"] == "object"
        assert {"id", "version", "created_at", "updated_at"} <= set(record["required"]), name
        assert record["properties"]["id"]["type"] == "integer"
        assert record["properties"]["version"]["type"] == "integer"
        assert record["properties"]["created_at"] == {**record["properties"]["created_at"], "type": "string",
                                                      "format": "date-time"}
        for field in entity["fields"]:
            where = f"{pascal(name)}.{field['name']}"
            assert_field_schema(record["properties"][field["name"]], field, reading=True, where=where)
            if not is_input(name, field):  # computed, read-only or a workflow state: never in an input
                assert field["name"] not in create["properties"], where
                assert field["name"] not in change["properties"], where
                continue
            assert_field_schema(create["properties"][field["name"]], field, reading=False, where=f"{where} (create)")
            assert_field_schema(change["properties"][field["name"]], field, reading=False, where=f"{where} (change)")
        assert create["additionalProperties"] is False and change["additionalProperties"] is False
        assert page["properties"]["items"]["items"] == {"$ref": f"#/components/schemas/{pascal(name)}"}
        assert {"items", "total"} <= set(page["required"])


def test_create_requires_the_required_fields_without_defaults(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, entity in ENTITIES.items():
        expected = {f["name"] for f in entity["fields"]
                    if f.get("required") and f.get("default") is None and is_input(name, f)}
        assert set(schemas[pascal(name) + "Create"].get("required", [])) == expected, name
        assert "required" not in schemas[pascal(name) + "Change"], f"{name}: a change may name any subset of fields"
    assert set(schemas["LeadCreate"]["required"]) == {"last_name", "company"}  # status has a default


def test_required_inputs_do_not_accept_null(document: dict[str, Any], api: Api) -> None:
    """The API refuses null for a required field ('required'); the input schemas must say so too.

    Create: a required field without a default; change: every required field
    (null there empties the field, which the record service refuses).
    """
    schemas = document["components"]["schemas"]
    response = api.post("/api/lead", json={"last_name": None, "company": "ACME", "email": "x@example.com"})
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "required"
    wrong = []
    for name, entity in ENTITIES.items():
        for field in entity["fields"]:
            if not field.get("required") or not is_input(name, field):
                continue
            if field.get("default") is None and "null" in schemas[pascal(name) + "Create"]["properties"][field["name"]]["type"]:
                wrong.append(f"{pascal(name)}Create.{field['name']}")
            if "null" in schemas[pascal(name) + "Change"]["properties"][field["name"]]["type"]:
                wrong.append(f"{pascal(name)}Change.{field['name']}")
    assert wrong == [], f"required fields documented as accepting null: {wrong}"


def test_read_only_fields_are_not_documented_as_inputs(document: dict[str, Any], api: Api) -> None:
    """A field the pack marks read_only is refused through the API (422 read_only); the input schemas must not offer it."""
    schemas = document["components"]["schemas"]
    response = api.post("/api/lead", json={"last_name": "Doe", "company": "ACME", "email": "x@example.com",
                                           "last_activity_at": "2026-01-02T03:04:05+00:00"})
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "read_only"
    offered = [f"{pascal(name)}{suffix}.{field['name']}" for name, entity in ENTITIES.items()
               for field in entity["fields"] if field.get("read_only")
               for suffix in ("Create", "Change")
               if field["name"] in schemas[pascal(name) + suffix]["properties"]
               and not schemas[pascal(name) + suffix]["properties"][field["name"]].get("readOnly")]
    assert offered == [], f"read-only fields documented as writable: {offered}"


def test_picklist_enums_match_the_pack_options(document: dict[str, Any]) -> None:
    lead = document["components"]["schemas"]["LeadCreate"]["properties"]
    assert [v for v in lead["rating"]["enum"] if v is not None] == ["hot", "warm", "cold"]
    status = document["components"]["schemas"]["Lead"]["properties"]["status"]
    assert "new" in status["enum"] and "converted" in status["enum"]
    assert "status" not in lead, "a workflow's state is not an input"
    channels = document["components"]["schemas"]["Contact"]["properties"]["preferred_channels"]
    assert channels["type"][0] == "array" and "sms" in channels["items"]["enum"]


# -- the operations and their errors ---------------------------------------------------------

SUCCESS = {("get", ""): "200", ("post", ""): "201", ("get", "/{id}"): "200", ("patch", "/{id}"): "200",
           ("delete", "/{id}"): "204", ("get", "/{id}/timeline"): "200"}
ERRORS = {
    ("get", ""): {"401", "403", "422"},
    ("post", ""): {"400", "401", "403", "409", "413", "415", "422"},
    ("get", "/{id}"): {"401", "403", "404"},
    ("patch", "/{id}"): {"400", "401", "403", "404", "409", "412", "413", "415", "422"},
    ("delete", "/{id}"): {"401", "403", "404", "409", "412"},
    ("get", "/{id}/timeline"): {"401", "403", "404"},
}


def test_every_entity_has_every_operation_with_its_errors(document: dict[str, Any]) -> None:
    responses = document["components"]["responses"]
    for name in ENTITIES:
        for (method, suffix), success in SUCCESS.items():
            path = f"/api/{name}{suffix}"
            assert path in document["paths"] and method in document["paths"][path], f"{method.upper()} {path}"
            operation = document["paths"][path][method]
            assert operation["operationId"] and success in operation["responses"], f"{method.upper()} {path}"
            documented = set(operation["responses"]) - {success}
            missing = ERRORS[(method, suffix)] - documented
            assert not missing, f"{method.upper()} {path} does not document {sorted(missing)}"
            for code in documented:
                reference = operation["responses"][code]["$ref"].rsplit("/", 1)[1]
                assert responses[reference]["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
            if "{id}" in path:
                ids = [p for p in document["paths"][path].get("parameters", []) + operation.get("parameters", [])
                       if p["name"] == "id"]
                assert ids and ids[0]["in"] == "path" and ids[0]["schema"]["type"] == "integer"
        patch = document["paths"][f"/api/{name}/{{id}}"]["patch"]
        assert any(p["name"] == "If-Match" and p["in"] == "header" for p in patch["parameters"])
        body = patch["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{pascal(name)}Change"}
        create = document["paths"][f"/api/{name}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert create == {"$ref": f"#/components/schemas/{pascal(name)}Create"}
        parameters = {p["name"] for p in document["paths"][f"/api/{name}"]["get"]["parameters"]}
        assert {"filter", "sort", "limit", "offset", "cursor"} <= parameters
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["required"])
    assert set(problem["properties"]["errors"]["items"]["required"]) == {"field", "message", "code"}


# -- real answers fit the document -----------------------------------------------------------

LEAD = {"salutation": "dr", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines",
        "email": "ada@example.com", "rating": "hot", "annual_revenue": "1250000.5", "number_of_employees": 12,
        "country": "GB", "website": "https://example.com", "converted_at": "2026-03-04T05:06:07Z"}


def test_a_created_lead_a_page_and_a_timeline_fit_their_schemas(document: dict[str, Any], api: Api) -> None:
    created = api.post("/api/lead", json=LEAD)
    assert created.status_code == 201, created.text
    lead = created.json()
    assert_valid(document, "Lead", lead)
    assert_documented(document, "/api/lead", "POST", created)
    assert lead["annual_revenue"] == "1250000.50" and lead["number_of_employees"] == 12 and lead["full_name"] == "Ada Lovelace"
    changed = api.patch(f"/api/lead/{lead['id']}", json={"rating": "warm", "city": "London"},
                        headers={"If-Match": f'"{lead["version"]}"'})
    assert changed.status_code == 200, changed.text
    assert_documented(document, "/api/lead/{id}", "PATCH", changed)
    assert_documented(document, "/api/lead/{id}", "GET", api.get(f"/api/lead/{lead['id']}"))
    page = api.get("/api/lead", params={"sort": "-created_at", "limit": 5})
    assert page.status_code == 200 and page.json()["total"] == 1
    assert_valid(document, "LeadPage", page.json())
    assert_documented(document, "/api/lead", "GET", page)
    timeline = api.get(f"/api/lead/{lead['id']}/timeline")
    assert [e["action"] for e in timeline.json()["items"]] == ["update", "create"]
    assert_valid(document, "Timeline", timeline.json())
    assert_documented(document, "/api/lead/{id}/timeline", "GET", timeline)
    deleted = api.delete(f"/api/lead/{lead['id']}")
    assert deleted.status_code == 204 and "204" in document["paths"]["/api/lead/{id}"]["delete"]["responses"]


def test_dates_decimals_and_multi_picklists_fit_their_schemas(document: dict[str, Any], api: Api) -> None:
    account = api.post("/api/account", json={"name": "ACME"})
    assert account.status_code == 201, account.text
    assert_valid(document, "Account", account.json())
    opportunity = api.post("/api/opportunity", json={"name": "Big deal", "account": account.json()["id"],
                                                     "amount": "1000", "discount_percent": "12.5",
                                                     "close_date": "2026-12-31"})
    assert opportunity.status_code == 201, opportunity.text
    assert_valid(document, "Opportunity", opportunity.json())
    assert opportunity.json()["close_date"] == "2026-12-31" and opportunity.json()["net_amount"] == "875.00"
    account = api.post("/api/account", json={"name": "Channels Inc"}).json()
    contact = api.post("/api/contact", json={"last_name": "Doe", "account": account["id"],
                                             "preferred_channels": ["sms", "email"]})
    assert contact.status_code == 201, contact.text
    assert_valid(document, "Contact", contact.json())
    assert contact.json()["preferred_channels"] == ["email", "sms"]  # kept in the options' order
    assert_valid(document, "OpportunityPage", api.get("/api/opportunity").json())


def test_the_schemas_refuse_what_the_api_would_never_send(document: dict[str, Any], api: Api) -> None:
    """The checks above can fail: a wrong type, an unknown option or a float decimal break the schemas."""
    lead = api.post("/api/lead", json=LEAD).json()
    for change in ({"status": "bogus"}, {"annual_revenue": 12.5}, {"number_of_employees": "12"},
                   {"created_at": "yesterday"}, {"converted_at": "2026-13-45T99:00:00Z"}, {"id": None}):
        with pytest.raises(ValidationError):
            validator(document, "Lead").validate({**lead, **change})
    with pytest.raises(ValidationError):
        validator(document, "LeadCreate").validate({"last_name": "Doe", "company": "ACME", "no_such_field": 1})
    with pytest.raises(ValidationError):
        validator(document, "LeadCreate").validate({"company": "ACME"})


def test_problems_fit_the_document(document: dict[str, Any], api: Api) -> None:
    lead = api.post("/api/lead", json=LEAD).json()
    item = f"/api/lead/{lead['id']}"
    answers = [
        ("/api/lead", "GET", 401, api.as_(None).get("/api/lead")),
        ("/api/lead", "GET", 401, api.get("/api/lead", headers={"Authorization": "Bearer not-a-token"})),
        ("/api/lead", "GET", 403, api.as_("nobody").get("/api/lead")),
        ("/api/lead", "GET", 422, api.get("/api/lead", params={"filter": "no_such_field = 1"})),
        ("/api/lead", "GET", 422, api.get("/api/lead", params={"limit": "many"})),
        ("/api/lead", "POST", 400, api.post("/api/lead", content=b"{not json", headers={"Content-Type": "application/json"})),
        ("/api/lead", "POST", 415, api.post("/api/lead", content=b"last_name=Doe",
                                            headers={"Content-Type": "application/x-www-form-urlencoded"})),
        ("/api/lead", "POST", 413, api.post("/api/lead", content=b"[" + b"0," * 600_000 + b"0]",
                                            headers={"Content-Type": "application/json"})),
        ("/api/lead", "POST", 422, api.post("/api/lead", json={"status": "bogus", "no_such_field": 1})),
        ("/api/account", "POST", 403, api.as_("agent").post("/api/account", json={"name": "X"})),
        ("/api/lead/{id}", "GET", 404, api.get("/api/lead/999999")),
        ("/api/lead/{id}", "GET", 404, api.as_("rep2").get(item)),  # outside rep2's scope
        ("/api/lead/{id}", "PATCH", 412, api.patch(item, json={"city": "Paris"}, headers={"If-Match": '"7"'})),
        ("/api/lead/{id}", "PATCH", 400, api.patch(item, json={"city": "Paris"}, headers={"If-Match": "soon"})),
        ("/api/lead/{id}", "PATCH", 422, api.patch(item, json={"number_of_employees": "many"})),
        ("/api/lead/{id}", "PATCH", 404, api.patch("/api/lead/999999", json={"city": "Paris"})),
        ("/api/lead/{id}", "DELETE", 403, api.as_("marketing").delete(item)),
        ("/api/lead/{id}", "DELETE", 412, api.delete(item, headers={"If-Match": '"9"'})),
        ("/api/lead/{id}/timeline", "GET", 404, api.get("/api/lead/999999/timeline")),
        ("/api/lead/{id}/timeline", "GET", 401, api.as_(None).get(f"{item}/timeline")),
    ]
    for path, method, status, response in answers:
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text[:300]}"
        assert response.headers["content-type"] == PROBLEM
        assert_valid(document, "Problem", response.json())
        assert_documented(document, path, method, response)
        assert response.json()["status"] == status
    stale = answers[12][3].json()
    assert stale["current_version"] == lead["version"]
    invalid = answers[8][3].json()
    assert {e["field"] for e in invalid["errors"]} >= {"status", "no_such_field"}


def test_conflicts_fit_the_document(document: dict[str, Any], api: Api) -> None:
    """409: an account an opportunity still points to (opportunity.account restricts deletes), a duplicate name."""
    account = api.post("/api/account", json={"name": "Parent"}).json()
    opportunity = api.post("/api/opportunity", json={"name": "Deal", "account": account["id"]})
    assert opportunity.status_code == 201, opportunity.text
    still_referenced = api.delete(f"/api/account/{account['id']}")
    assert still_referenced.status_code == 409, still_referenced.text
    assert_documented(document, "/api/account/{id}", "DELETE", still_referenced)
    duplicate = api.post("/api/account", json={"name": "Parent"})
    assert duplicate.status_code == 409, duplicate.text
    assert [(e["field"], e["code"]) for e in duplicate.json()["errors"]] == [("name", "unique")]
    assert_documented(document, "/api/account", "POST", duplicate)


def test_workflow_claim_and_approval_operations_are_described(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert "202" in paths["/api/opportunity/{id}/transitions/{transition}"]["post"]["responses"]
    assert "/api/opportunity/{id}/transitions" in paths and "/api/account/{id}/transitions" not in paths
    assert "409" in paths["/api/lead/{id}/claim"]["post"]["responses"]
    assert {"/api/approvals", "/api/approvals/{id}/approve", "/api/approvals/{id}/reject"} <= set(paths)
