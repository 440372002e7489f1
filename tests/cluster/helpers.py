"""What the cluster tests share: events from the dev sources (tokens are bound to their
CloudEvents sources, config/ingest-sources.example.yaml) and the api's batch recompute, which
needs a write token."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.test_end_to_end import ce

REGISTRY, DVC = "/registry", "/dvc"


def unit(uid: str) -> dict[str, Any]:
    data = {"unit_id": uid, "name": uid, "tier": "province_agency", "active": True}
    return ce(REGISTRY, f"u-{uid}", "vn.thidua.unit.upserted", "2024-12-01T08:00:00+07:00", data)


def dossier(did: str, uid: str, channel: str, time: str) -> dict[str, Any]:
    data = {"dossier_id": did, "unit_id": uid, "procedure_id": "p1", "channel": channel}
    return ce(DVC, f"d-{did}", "vn.thidua.dvc.dossier.received", time, data)


WRITE_TOKEN = "cluster-tests-write-token-0123456789"
# Settings for running_stack(env=…): the api accepts this write token.
WRITE_ENV = {"THIDUA_API_WRITE_TOKENS": f'["{WRITE_TOKEN}"]'}


def recompute(client: httpx.Client, api_url: str) -> dict[str, Any]:
    """``POST /v1/recompute``: every KPI again from the raw events, compared with streaming."""
    response = client.post(
        f"{api_url}/v1/recompute",
        headers={"authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report
