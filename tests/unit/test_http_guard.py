"""thidua/http_guard.py: body deadline and limit, security headers, uvicorn options."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from thidua.http_guard import BufferedBody, GuardedHTTP, SecurityHeaders, uvicorn_options
from thidua.settings import CommonSettings


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    body = message.get("body", b"")
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _call(app: Any, chunks: list[bytes], *, delay: float = 0.0, **headers: str) -> list[Message]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[Message] = []
    pending = list(chunks)

    async def receive() -> Message:
        await asyncio.sleep(delay)
        chunk = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_the_body_arrives_whole_before_the_app_runs() -> None:
    app = BufferedBody(_echo, max_bytes=100, seconds=5)
    sent = _call(app, [b"ab", b"cd", b"ef"])
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"abcdef"


def test_a_slow_body_is_a_408_and_a_large_one_a_413() -> None:
    slow = _call(BufferedBody(_echo, max_bytes=100, seconds=0.2), [b"a"] * 10, delay=0.05)
    assert slow[0]["status"] == 408
    large = _call(BufferedBody(_echo, max_bytes=4, seconds=5), [b"abc", b"def"])
    assert large[0]["status"] == 413
    declared = _call(BufferedBody(_echo, max_bytes=4, seconds=5), [b"a"], content_length="99")
    assert declared[0]["status"] == 413


def test_without_refusing_the_app_sees_one_byte_over_the_limit() -> None:
    app = BufferedBody(_echo, max_bytes=4, seconds=5, refuse_over_limit=False)
    assert _call(app, [b"abc", b"defgh"])[1]["body"] == b"abcde"
    unread = BufferedBody(_echo, max_bytes=4, seconds=5, admit=lambda scope: False)
    assert _call(unread, [b"ab", b"cd"])[1]["body"] == b"ab"  # the app reads it itself


def test_security_headers_on_every_answer() -> None:
    sent = _call(SecurityHeaders(_echo), [b"{}"])
    headers = dict(sent[0]["headers"])
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]
    assert headers[b"referrer-policy"] == b"no-referrer"


def test_uvicorn_options() -> None:
    options = uvicorn_options(CommonSettings())
    assert options["server_header"] is False and options["http"] is GuardedHTTP
    assert options["timeout_keep_alive"] == 5.0 and options["limit_concurrency"] == 2000


def test_the_standalone_metrics_server_has_headers_and_no_banner() -> None:
    import socket

    import httpx

    from thidua.http_guard import serve_metrics

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve_metrics("127.0.0.1", port, timeout=1.0)
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200 and "python_info" in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "Python" not in answer.headers.get("server", "")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        slow.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
        assert slow.recv(100) == b""  # dropped after the timeout, not held forever
