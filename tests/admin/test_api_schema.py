"""The OpenAPI document matches what the code does: schemathesis sends generated requests to
every operation (a bounded number each) and fails on any 5xx or any answer (status, content
type, body) that the document does not describe."""
import pytest
import schemathesis

import admin.api  # noqa: F401  (registers every endpoint)
from admin.api.openapi import document
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance,
    status_code_conformance,
)

from tests.admin.conftest import add_staff, bearer
from tests.conftest import TEST_DATABASE_URL

# Per operation: enough to find a crash. Fewer on PostgreSQL, which the same operations reach
# with the same (derandomized) first examples, to keep CI within its time.
EXAMPLES = 2 if TEST_DATABASE_URL else 6


schema = schemathesis.openapi.from_dict(document())


@pytest.fixture
def fuzzed(make_app, db, store):
    """The app, generous with its rate limit (the fuzzer is fast), and its owner's headers."""
    app = make_app(API_REQUESTS_PER_MINUTE="100000")
    return app, bearer(app, add_staff(db, store, "+254700123456"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, fuzzed):
    app, headers = fuzzed
    # ``fields=`` trims answers on purpose (tested on its own); the WSGI transport does not
    # unzip, so ask for plain bodies.
    if case.query:
        case.query.pop("fields", None)
    case.call_and_validate(app=app, headers={**headers, "Accept-Encoding": "identity"}, checks=[
        not_a_server_error, status_code_conformance, content_type_conformance,
        response_schema_conformance])


def test_the_document_is_served_and_lists_every_route(api):
    document = api.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/v1/staff", "/api/v1/api-keys", "/api/v1/auth/code"} <= set(document["paths"])
    staff = document["paths"]["/api/v1/staff"]["post"]
    assert staff["description"] == "Needs the `staff:write` permission."
    assert set(staff["responses"]) >= {"201", "401", "403", "422", "429"}
