"""Property-based run of the whole live OpenAPI schema (schemathesis 4).

The schema is fetched from /api/schema/ of the real Django app at test time, so every endpoint
any app adds to /api/v1/ is covered automatically. Each operation gets a bounded number of
generated requests, sent in-process through Django's WSGI handler (inside the test transaction)
with an admin's API token. Checks: no 5xx, documented status codes, content types, headers and
response bodies that match the schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import load_all_checks
from schemathesis.specs.openapi import checks as openapi_checks

from apps.accounts.models import ApiToken
from tests.api.helpers import token_for

load_all_checks()

MAX_EXAMPLES = 10

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "database": "none",
            "deterministic": True,
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
    }
)

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


APP = WSGIHandler()
# Loaded when the module is collected: whatever /api/schema/ serves right now is what gets tested.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP, config=CONFIG)


@pytest.fixture(autouse=True)
def _keep_the_test_connection_open():
    """Like Django's test client: requests must not close the connection that holds the test
    transaction (Django closes "old" connections when a request starts and finishes)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db, make_user, settings):
    settings.FLOWGATE_API_WRITE_RATE = None  # fuzzing writes far faster than any client
    return token_for(make_user("admin", username="fuzz-admin", is_superuser=True), name="fuzz")


@schema.parametrize()
# The token fixture is deliberately shared by all generated requests of one operation; the
# machine may be busy, so slowness is not a failure either.
@hypothesis_settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_every_operation_conforms_to_the_schema(case, admin_token):
    token, key = admin_token
    response = case.call(headers={"Authorization": f"Token {key}"})
    # DELETE /tokens/{id}/ may hit the fuzzing token itself: keep it usable for the next case.
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    case.validate_response(response, checks=CHECKS)
