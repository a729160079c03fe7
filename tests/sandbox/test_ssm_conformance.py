"""The sandbox's answers validate against the vendor's own API definition (openapi-core).

The vendor file (`sandbox/ssm/vendor-openapi.json`, the Power Platform connector's OpenAPI 2.0)
needs adapting before openapi-core can use it; each change is named where it is made:

1. openapi-core reads OpenAPI 3.x only, so the paths, responses and definitions the test needs
   are carried over into a 3.0 document (`definitions` -> `components/schemas`, response
   schemas under `content: application/json`, path parameters with a `schema`). Request
   bodies and query/header parameters are left out: only responses are validated.
2. Swagger 2.0 cannot say "or null", yet the API answers null for every unset field (the doc
   samples show it), so every property is made `nullable`.
3. `ContactResponse.useCompanyAddress` is typed integer there while `ContactModel` (what is
   written) types it boolean; the sandbox returns what was written, so it is patched to boolean.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.response.exceptions import InvalidData
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sandbox.ssm.catalogue import RESOURCES, Resource
from sandbox.ssm.testing import TestClient, in_process_sandbox

VENDOR_SPEC = Path(__file__).resolve().parents[2] / "sandbox" / "ssm" / "vendor-openapi.json"
SERVER = "http://127.0.0.1"
API = "/api/v4"


def _convert_schema(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_convert_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-ms-"):
            continue
        if key == "$ref":
            out[key] = value.replace("#/definitions/", "#/components/schemas/")
        elif key == "properties":
            # Adaptation 2: every property may be null.
            out[key] = {
                name: {**_convert_schema(prop), "nullable": True} for name, prop in value.items()
            }
        else:
            out[key] = _convert_schema(value)
    return out


def openapi3_from_vendor(vendor: dict[str, Any]) -> dict[str, Any]:
    """Adaptation 1: the vendor's Swagger 2.0 paths and definitions as an OpenAPI 3.0 document."""
    paths: dict[str, Any] = {}
    for path, operations in vendor["paths"].items():
        if "hooks" in path or path.startswith("/procedure"):
            continue
        converted: dict[str, Any] = {}
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "delete"):
                continue
            responses = {}
            for status, answer in operation.get("responses", {}).items():
                entry: dict[str, Any] = {"description": answer.get("description", status)}
                if answer.get("schema"):
                    entry["content"] = {
                        "application/json": {"schema": _convert_schema(answer["schema"])}
                    }
                responses[status] = entry
            parameters = []
            if "{id}" in path:
                parameters.append(
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                )
            converted[method] = {"responses": responses, "parameters": parameters}
        paths[path] = converted
    schemas = {name: _convert_schema(schema) for name, schema in vendor["definitions"].items()}
    # Adaptation 3: useCompanyAddress is a boolean, as the vendor's ContactModel writes it.
    schemas["ContactResponse"]["properties"]["useCompanyAddress"] = {
        "type": "boolean",
        "nullable": True,
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": vendor["info"]["title"], "version": vendor["info"]["version"]},
        "servers": [{"url": SERVER + vendor["basePath"]}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


@dataclass
class ExchangedRequest:
    """openapi-core's request protocol over one call made with the test client."""

    method: str
    url: str
    body: bytes | None = None
    content_type: str = "application/json"
    parameters: RequestParameters = field(default_factory=RequestParameters)

    @property
    def host_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass
class ExchangedResponse:
    status_code: int
    data: bytes
    headers: Headers
    content_type: str


@pytest.fixture(scope="module")
def vendor_api() -> OpenAPI:
    return OpenAPI.from_dict(openapi3_from_vendor(json.loads(VENDOR_SPEC.read_text())))


@pytest.fixture(scope="module")
def ssm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with in_process_sandbox(tmp_path_factory.mktemp("conformance")) as client:
        yield client


def call_and_validate(
    vendor_api: OpenAPI, ssm: TestClient, method: str, path: str, body: Any = None
) -> Any:
    answer = ssm.request(method, API + path, json=body)
    request = ExchangedRequest(
        method=method.lower(),
        url=SERVER + API + path,
        parameters=RequestParameters(query=ImmutableMultiDict(), header=Headers()),
    )
    response = ExchangedResponse(
        status_code=answer.status_code,
        data=answer.content,
        headers=Headers(dict(answer.headers)),
        content_type=answer.headers.get("content-type", ""),
    )
    vendor_api.validate_response(request, response)
    return answer.json()


RECORDS = [
    ("/accounts", {"name": "Acme Ltd", "branchId": 1, "salesRepId1": 2, "typeId": 1, "statusId": 2,
                   "countryId": 1, "extId": "ACME01", "latitude": 53.8, "public": True}),
    ("/contacts", {"firstName": "Jo", "lastName": "Bloggs", "accountId": 1, "salesRepId": 2,
                   "branchId": 1, "gender": 1, "useCompanyAddress": True,
                   "birthday": "1980-02-03"}),
    ("/opportunities", {"reference": "OPP-1", "branchId": 1, "salesRepId": 2, "accountId1": 1,
                        "salesProbability": 7, "total": 1200.5, "currencyId": 1}),
    ("/salesorders", {"reference": "Q-1", "branchId": 1, "salesRepId": 2, "accountId": 1,
                      "statusId": 1, "number": 17, "year": 2024, "total": 10.0}),
]  # fmt: skip


def test_core_entities_validate(vendor_api: OpenAPI, ssm: TestClient) -> None:
    for path, body in RECORDS:
        created = call_and_validate(vendor_api, ssm, "POST", path, body)
        record_id = created["id"]
        fetched = call_and_validate(vendor_api, ssm, "GET", f"{path}/{record_id}")
        assert fetched["id"] == record_id
        listed = call_and_validate(vendor_api, ssm, "GET", path)
        assert record_id in [r["id"] for r in listed]
        call_and_validate(vendor_api, ssm, "PUT", f"{path}/{record_id}", {"extId": "X1"})
    product = ssm.post(API + "/products", json={"model": "Widget"}).json()["id"]
    line = {"salesOrderId": 1, "productId": product, "quantity": 3, "price": 2.5, "order": 1}
    line_id = call_and_validate(vendor_api, ssm, "POST", "/salesordersLines", line)["id"]
    call_and_validate(vendor_api, ssm, "GET", f"/salesordersLines/{line_id}")
    call_and_validate(vendor_api, ssm, "GET", "/salesordersLines")
    call_and_validate(vendor_api, ssm, "DELETE", f"/salesordersLines/{line_id}")
    deleted = call_and_validate(vendor_api, ssm, "GET", f"/salesordersLines/{line_id}")
    assert deleted["deleted"] is True


@pytest.mark.parametrize(
    "path",
    [
        "/users",
        "/branches",
        "/countries",
        "/currencies",
        "/timezones",
        "/accountTypes",
        "/accountStatuses",
        "/accountSegments",
        "/contactTypes",
        "/opportunityTypes",
        "/opportunityStatuses",
        "/salesorderStatuses",
        "/activityTypes",
    ],
)
def test_lists_validate(vendor_api: OpenAPI, ssm: TestClient, path: str) -> None:
    rows = call_and_validate(vendor_api, ssm, "GET", path)
    assert rows, f"{path} is seeded"


def test_errors_validate(vendor_api: OpenAPI, ssm: TestClient) -> None:
    unknown = call_and_validate(vendor_api, ssm, "GET", "/accounts/999")
    assert unknown == {"statusCode": 400, "message": "Bad Request"}
    invalid = call_and_validate(vendor_api, ssm, "POST", "/accounts", {"name": "No branch"})
    assert invalid["field"] == "branchId"


def test_a_wrong_shape_fails_validation(vendor_api: OpenAPI) -> None:
    """The check can fail: a foreign key answered as a bare integer is refused."""
    request = ExchangedRequest(method="get", url=SERVER + API + "/accounts/1")
    response = ExchangedResponse(
        status_code=200,
        data=json.dumps({"id": 1, "name": "Acme", "branchId": 1}).encode(),
        headers=Headers({"content-type": "application/json"}),
        content_type="application/json",
    )
    with pytest.raises(InvalidData, match="is not of type 'object'"):
        vendor_api.validate_response(request, response)


# What the sandbox validates comes from its catalogue; the catalogue must say what the vendor's
# write models (the request bodies of POST/PUT) say. An OpenAPI type and format -> the catalogue
# kinds that accept exactly it: an integer is a plain integer, a foreign key id or an enum code.
WRITE_MODELS = {
    "AccountModel": "accounts",
    "ContactModel": "contacts",
    "OpportunityModel": "opportunities",
    "SalesOrderModel": "salesorders",
    "SalesOrderLineModel": "salesordersLines",
}
KINDS_FOR = {
    ("string", None): {"text"},
    ("string", "date-time"): {"datetime"},
    ("integer", None): {"int", "fk", "enum"},
    ("integer", "int32"): {"int", "fk", "enum"},
    ("number", None): {"number"},
    ("boolean", None): {"bool"},
}
# SalesOrderModel types number and year `number`, SalesOrderResponse `integer`: what is read
# back is an integer, so the sandbox takes an integer-valued number (2 or 2.0), not 2.5.
READ_BACK_AS_INTEGER = {("SalesOrderModel", "number"), ("SalesOrderModel", "year")}


def _vendor() -> dict[str, Any]:
    return json.loads(VENDOR_SPEC.read_text())


def _catalogue_field(resource: Resource, name: str) -> Any:
    return resource.field_named(name) or resource.field_named(resource.aliases.get(name, ""))


@pytest.mark.parametrize("model", sorted(WRITE_MODELS))
def test_catalogue_types_every_field_as_the_vendor_write_model(model: str) -> None:
    resource = RESOURCES[WRITE_MODELS[model]]
    properties = _vendor()["definitions"][model]["properties"]
    mismatches = []
    for name, schema in properties.items():
        if name == "customFields":  # the connector's bag for Z_* fields, not a field
            continue
        spec = _catalogue_field(resource, name)
        wanted = KINDS_FOR[(schema["type"], schema.get("format"))]
        if (model, name) in READ_BACK_AS_INTEGER:
            wanted = {"int"}
        if spec is None or spec.kind not in wanted:
            mismatches.append((name, schema["type"], spec.kind if spec else "missing"))
    assert mismatches == []


def test_catalogue_requires_what_the_vendor_requires_on_create() -> None:
    vendor = _vendor()
    required = {}
    for path, operations in vendor["paths"].items():
        body = [p for p in operations.get("post", {}).get("parameters", []) if p["in"] == "body"]
        resource = path.strip("/")
        if body and resource in RESOURCES:
            required[resource] = set(body[0]["schema"].get("required", []))
    assert required == {
        "accounts": {"name", "branchId", "salesRepId1"},
        "contacts": {"firstName", "lastName", "accountId", "salesRepId", "branchId"},
        "opportunities": {"reference", "branchId", "salesRepId", "salesProbability", "accountId1"},
        "salesorders": {"reference", "branchId", "salesRepId"},
        "salesordersLines": {"salesOrderId", "productId", "quantity", "price"},
    }
    assert {name: set(RESOURCES[name].required) for name in required} == required


def test_a_contact_without_a_branch_is_refused(tmp_path: Path) -> None:
    """ContactModel's POST requires branchId (the Postman paraphrase leaves it out)."""
    with in_process_sandbox(tmp_path) as ssm:
        account = {"name": "Acme Ltd", "branchId": 1, "salesRepId1": 2}
        assert ssm.post(API + "/accounts", json=account).json()["id"] == 1
        contact = {"firstName": "Jo", "lastName": "Bloggs", "accountId": 1, "salesRepId": 2}
        answer = ssm.post(API + "/contacts", json=contact)
        assert answer.status_code == 400
        assert answer.json() == {
            "statusCode": 400,
            "code": 400,
            "message": "field 'branchId' is required",
            "field": "branchId",
        }
        assert ssm.post(API + "/contacts", json={**contact, "branchId": 1}).status_code == 200
