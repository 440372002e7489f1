"""One real stack (ingest, a Faust worker, the api with the chDB writer) on the session's
broker for the security findings of issue 14, with short deadlines and small caps so that
each finding shows in seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.stack import Stack, running_stack

WRITE_TOKEN = "security-write-token-0123456789"
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
HEADER_SECONDS = 2.0
BODY_SECONDS = 3.0
MAX_STREAMS = 3
MAX_SILENCES = 3


@pytest.fixture(scope="package")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("security-stack")
    with running_stack(kafka_bootstrap, workdir, start=False) as stack:
        stack.env.update(
            {
                "THIDUA_API_WRITE_TOKENS": f'["{WRITE_TOKEN}"]',
                "THIDUA_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_SECONDS),
                "THIDUA_HTTP_BODY_TIMEOUT_SECONDS": str(BODY_SECONDS),
                "THIDUA_API_MAX_STREAMS": str(MAX_STREAMS),
                "THIDUA_API_MAX_SILENCES": str(MAX_SILENCES),
                "THIDUA_LOG_LEVEL": "WARNING",
            }
        )
        stack.start()
        yield stack
