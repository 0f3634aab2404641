"""Every operation of the OpenAPI document, fed generated input by schemathesis against a
real server and database: no input gives a 500, and answers match their schemas."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.api.access import bearer, issue_key
from tests.api.server import api_server
from tests.api.test_minimal_api import ingest_directly
from tests.services import ServiceEnv

pytestmark = [pytest.mark.services, pytest.mark.slow]

# The live stream never ends: it has tests of its own.
ENDLESS = {"/stream"}


def test_no_input_gives_a_server_error(env: ServiceEnv) -> None:
    ingest_directly(env, 40)
    headers = bearer(issue_key(env, "admin"))
    failures: list[str] = []
    calls = 0
    with api_server(env) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [op.ok() for op in schema.get_all_operations()]
        assert len(operations) > 10

        for operation in operations:
            if operation.path in ENDLESS:
                continue

            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case: Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=base, headers=headers, timeout=30)
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )

            try:
                check()
            except Exception as exc:  # every operation is tried; all failures are reported
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")

    assert not failures, "\n\n".join(failures)
    assert calls > 5 * len(operations)
