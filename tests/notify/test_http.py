"""notify's HTTP surface: /healthz, /readyz, /metrics (no broker: the worker is not started)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.notify.main import create_app
from services.notify.settings import NotifyServiceSettings
from services.notify.transport import NotifyWorker

from .helpers import engine


def test_health_ready_metrics() -> None:
    worker = NotifyWorker(engine(), "127.0.0.1:1", "t.", lambda alerts: None)
    client = TestClient(create_app(worker, NotifyServiceSettings()))  # no lifespan: no Kafka
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 503
    body = client.get("/metrics").text
    assert "thidua_notify_evaluations_total" in body
    assert client.get("/v1/alerts/active").json() == {"firing": [], "pending": []}


def test_docs_without_a_cdn() -> None:
    from tests.offline_docs import assert_docs_served_locally

    worker = NotifyWorker(engine(), "127.0.0.1:1", "t.", lambda alerts: None)
    assert_docs_served_locally(TestClient(create_app(worker, NotifyServiceSettings())))


def test_security_headers_and_no_bodies() -> None:
    worker = NotifyWorker(engine(), "127.0.0.1:1", "t.", lambda alerts: None)
    client = TestClient(create_app(worker, NotifyServiceSettings()))
    answer = client.get("/healthz")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert client.post("/healthz", content=b"x" * 10).status_code == 413
