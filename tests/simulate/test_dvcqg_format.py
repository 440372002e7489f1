"""``thidua simulate --dvc-format dvcqg``: the simulated DVC history through the real ingest's
national-portal adapter and the real broker."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import uvicorn

from services.ingest import dvcqg
from services.ingest.app import create_app
from tests.ingest.conftest import consume
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.settings import IngestSettings
from tools.simulate.dvcqg import PortalConverter
from tools.simulate.feeder import feed
from tools.simulate.generator import generate

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
KEPT = {t.value for t in (EventType.UNIT_UPSERTED, EventType.PROCEDURE_UPSERTED,
                          EventType.DOSSIER_RECEIVED)}  # fmt: skip


@contextmanager
def ingest(settings: IngestSettings) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_simulated_dossiers_through_the_portal_adapter(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    events = [
        e
        for e in generate(seed=3, start=date(2025, 9, 1), end=date(2025, 9, 4), scale=0.05)
        if e["type"] in KEPT
    ]
    settings = IngestSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=2,
        ingest_tokens_file=REPO / "config" / "ingest-sources.example.yaml",
        ingest_registry_wait_seconds=5,
    )
    with ingest(settings) as url:
        stats = feed(
            events,
            url,
            "thidua-dev-simulator-token",
            batch_size=100,
            progress=None,
            portal=PortalConverter(),
        )
    assert stats.events == len(events)
    procedures = sum(e["type"] == EventType.PROCEDURE_UPSERTED.value for e in events)
    sent = [e for e in events if e["type"] == EventType.DOSSIER_RECEIVED.value]
    records = consume(kafka_bootstrap, f"{topic_prefix}events-dvc", procedures + len(sent))
    received = [
        CanonicalEvent.from_bytes(r.value) for r in records if b"dossier.received" in r.value
    ]
    assert len(received) == len(sent)
    assert all(e.source == "/dvcqg/simulator" for e in received)
    # same dossiers, units and times; direct and postal as sent, online decided by ingest
    expected = sorted((d["data"]["dossier_id"], d["data"]["unit_id"], d["time"][:19]) for d in sent)
    got = sorted(
        (e.data["dossier_id"], e.data["unit_id"], e.time.astimezone(dvcqg.LOCAL).isoformat()[:19])
        for e in received
    )
    assert got == expected
    stated = {(d["data"]["dossier_id"], d["time"]): d["data"]["channel"] for d in sent}
    for event in received:
        channel = stated[(event.data["dossier_id"], event.time.isoformat()[:19] + "+07:00")]
        if channel in ("direct", "postal"):
            assert event.data["channel"] == channel
        assert "on_time" in event.data and "digitised" in event.data
