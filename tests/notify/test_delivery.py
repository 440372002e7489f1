"""Alert formats and their delivery: webhook to a local HTTP receiver, e-mail to a local
SMTP server (aiosmtpd), silences."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notify.alerts import Alert, fingerprint, webhook_payloads
from services.notify.delivery import post_webhooks, send_email
from services.notify.silences import silenced

from .helpers import at


def alert(state: str = "firing", unit: str = "tq-xa-02269", criterion: str = "C13") -> Alert:
    return Alert(
        rule="flow_below_target",
        unit_id=unit,
        criterion=criterion,
        state=state,
        severity="warning",
        summary=f"{unit}: {criterion} đạt 40% (4/10), dưới mục tiêu 60% (rolling-30d)",
        starts_at=at(),
        updated_at=at(hours=1),
        ends_at=at(hours=1) if state == "resolved" else None,
        labels={"tier": "commune", "period": "rolling-30d"},
    )


def test_topic_json() -> None:
    body = alert().to_json()
    assert set(body) == {
        "fingerprint",
        "rule",
        "unit_id",
        "criterion",
        "state",
        "severity",
        "summary",
        "labels",
        "starts_at",
        "ends_at",
        "updated_at",
    }
    assert body["fingerprint"] == fingerprint("flow_below_target", "tq-xa-02269", "C13")
    assert body["starts_at"] == "2025-11-03T10:00:00.000+07:00" and body["ends_at"] is None
    assert alert("resolved").to_json()["ends_at"] == "2025-11-03T11:00:00.000+07:00"


def test_alertmanager_webhook_payload() -> None:
    (payload,) = webhook_payloads(
        [alert(), alert(unit="tq-xa-00691")], "thidua-cds", "http://api:8000"
    )
    assert payload["version"] == "4" and payload["status"] == "firing"
    assert payload["groupKey"] == '{}:{rule="flow_below_target"}'
    assert payload["groupLabels"] == {"rule": "flow_below_target"}
    assert (
        payload["commonLabels"]["criterion"] == "C13" and "unit_id" not in payload["commonLabels"]
    )
    assert payload["receiver"] == "thidua-cds" and payload["externalURL"] == "http://api:8000"
    first = payload["alerts"][0]
    assert set(first) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert first["labels"]["alertname"] == "flow_below_target"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["annotations"]["summary"].startswith("tq-xa-02269")


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Hook.fail_first > 0:
            _Hook.fail_first -= 1
            self.send_response(503)
        else:
            _Hook.received.append(json.loads(body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    _Hook.received, _Hook.fail_first = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_delivery_with_a_retry(hook_url: str) -> None:
    _Hook.fail_first = 1
    assert post_webhooks([alert(), alert("resolved", criterion="C05")], [hook_url], "http://x") == 1
    (payload,) = _Hook.received
    assert [a["status"] for a in payload["alerts"]] == ["firing", "resolved"]


def test_webhook_down_is_not_an_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert post_webhooks([alert()], [f"http://127.0.0.1:{port}/"], "http://x", retries=0) == 0


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(
            (
                envelope.mail_from,
                envelope.rcpt_tos,
                message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 OK"


def test_email_to_a_local_smtp_server() -> None:
    inbox = _Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sent = send_email(
            [alert(), alert("resolved", criterion="C05")],
            "127.0.0.1",
            port,
            "thidua@localhost",
            ["so-noi-vu@localhost"],
        )
    finally:
        controller.stop()
    assert sent
    ((sender, recipients, message),) = inbox.messages
    assert sender == "thidua@localhost" and recipients == ["so-noi-vu@localhost"]
    assert str(message["Subject"]) == "[Thi đua CĐS] 1 cảnh báo đang kích hoạt, 1 đã hết"
    text = message.get_content()  # type: ignore[attr-defined]
    assert "dưới mục tiêu 60%" in text and "Đã hết cảnh báo" in text


def test_email_without_a_server_is_skipped() -> None:
    assert not send_email([alert()], None, 25, "a@b", ["c@d"])


def test_silences_match_fields_and_labels() -> None:
    window = {"starts_at": at(hours=-1).isoformat(), "ends_at": at(hours=2).isoformat()}
    by_unit = {**window, "matchers": [{"name": "unit_id", "value": "tq-xa-02269"}]}
    by_label = {**window, "matchers": [{"name": "tier", "value": "district"}]}
    expired = {
        "starts_at": at(hours=-3).isoformat(),
        "ends_at": at(hours=-1).isoformat(),
        "matchers": [{"name": "rule", "value": "flow_below_target"}],
    }
    assert silenced(alert(), [by_unit], at())
    assert not silenced(alert(unit="tq-xa-00691"), [by_unit], at())
    assert not silenced(alert(), [by_label, expired], at())
    assert not silenced(alert(), [by_unit], at(hours=3))


def test_a_long_email_is_capped() -> None:
    from services.notify.delivery import email_message

    many = [alert(unit=f"tq-xa-{n:05d}") for n in range(250)]
    text = email_message(many, "a@b", ["c@d"]).get_content()
    assert "… và 150 cảnh báo khác" in text and text.count("• [warning]") == 100
