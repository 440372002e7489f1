"""Schemathesis against the OpenAPI document: generated input never gets a 5xx.

Runs against the real broker (valid generated events are really produced, under the test's
own topic prefix) with the development simulator token, which may send every type. Both
positive (schema-conforming) and negative (schema-violating) cases, for every operation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.testclient import TestClient

from services.ingest.app import create_app
from tests.ingest.conftest import SIMULATOR
from thidua.settings import IngestSettings

pytestmark = pytest.mark.integration
_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_never_get_a_5xx(
    settings_for: Callable[..., IngestSettings], mode: GenerationMode
) -> None:
    app = create_app(settings_for(ingest_registry_wait_seconds=0))
    with TestClient(app):  # Kafka joined once for the whole run
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 8  # + the two DVCQG adapters
        statuses: Counter[tuple[str, int]] = Counter()
        for operation in operations:
            if mode is GenerationMode.NEGATIVE and operation.method.lower() == "get":
                continue  # nothing to violate: the GETs take no input

            @given(case=operation.as_strategy(generation_mode=mode))
            @_SETTINGS
            def check(case: schemathesis.Case) -> None:
                headers = {**(case.headers or {}), **SIMULATOR}
                response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
                statuses[(case.operation.path, response.status_code)] += 1

            check()
    print(sorted(statuses.items()))
    assert all(status < 500 for _path, status in statuses)
