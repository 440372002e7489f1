"""What every HTTP service of ours puts between the socket and its app (issue 14).

- :class:`GuardedHTTP`: uvicorn's protocol with a deadline on the request line and headers
  (uvicorn has none: a client sending one header byte every few seconds held a connection
  forever). Idle keep-alive and header size are uvicorn's own options, in :func:`uvicorn_options`.
- :class:`BufferedBody`: the whole body must arrive within a deadline (else 408) and within a
  size (else 413, or handed on truncated so the app answers its own 413); the app runs only once
  the body is in, so a slow upload holds no application resource (ingest's in-flight slots).
- :class:`SecurityHeaders`: nosniff, a CSP with ``frame-ancestors 'none'``, no referrer, on every
  answer; and no ``server`` banner (``server_header=False``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from thidua.settings import CommonSettings

# JSON, metrics and other non-HTML answers load nothing.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# HTML pages without their own policy (Swagger UI's page has an inline bootstrap script).
PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
MAX_HEADER_BYTES = 16 * 1024
# The same, for servers that are not ASGI (the scoring worker's aiohttp).
SECURITY_HEADERS = {
    **{name.decode(): value.decode() for name, value in _COMMON_HEADERS},
    "Content-Security-Policy": API_CSP,
}


@functools.cache
def _settings() -> CommonSettings:
    return CommonSettings()


class GuardedHTTP(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """Closes a connection whose request line and headers take longer than
    ``header_timeout`` seconds (default: ``THIDUA_HTTP_HEADER_TIMEOUT_SECONDS``)."""

    header_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.header_timeout is None:
            self.header_timeout = _settings().http_header_timeout_seconds
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._awaiting_headers():
            self._arm()
        super().data_received(data)
        if self._header_timer is not None and not self._awaiting_headers():
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        cycle = self.cycle
        return cycle is None or bool(cycle.response_complete)

    def _arm(self) -> None:
        assert self.header_timeout is not None
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: CommonSettings) -> dict[str, Any]:
    """uvicorn.run/Config keyword arguments every service uses."""
    return {
        "http": GuardedHTTP,
        "timeout_keep_alive": settings.http_idle_timeout_seconds,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limit_concurrency": settings.http_max_connections,
        "server_header": False,
    }


def _answer(status: int, body: bytes, content_type: bytes) -> tuple[Message, Message]:
    return (
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        },
        {"type": "http.response.body", "body": body},
    )


class BufferedBody:
    """Reads the whole request body before the app runs, within ``seconds`` (else 408).

    Over ``max_bytes``: with ``refuse_over_limit`` a 413 here (``problem``-shaped JSON);
    without it, the first ``max_bytes + 1`` bytes are handed on and the app answers its own 413
    (ingest: after authenticating the caller, as its contract orders the checks). A request
    ``admit`` says no to (ingest: an unknown token) goes to the app unread, to be refused.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        seconds: float,
        refuse_over_limit: bool = True,
        content_type: bytes = b"application/problem+json",
        admit: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds
        self.refuse_over_limit = refuse_over_limit
        self.content_type = content_type
        self.admit = admit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if self.admit is not None and not self.admit(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            if self.refuse_over_limit:
                await self._refuse(send, 413, f"body over {self.max_bytes} bytes")
            else:  # the app refuses it from the header, without reading it
                await self.app(scope, receive, send)
            return
        try:
            body, disconnected = await asyncio.wait_for(self._read(receive), self.seconds)
        except TimeoutError:
            await self._refuse(send, 408, f"the body did not arrive within {self.seconds:g} s")
            return
        if disconnected:
            return
        if self.refuse_over_limit and len(body) > self.max_bytes:
            await self._refuse(send, 413, f"body over {self.max_bytes} bytes")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only http.disconnect comes

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", True
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)[: self.max_bytes + 1], False

    async def _refuse(self, send: Send, status: int, detail: str) -> None:
        title = "Request Timeout" if status == 408 else "Content Too Large"
        if self.content_type == b"application/problem+json":
            body = (
                f'{{"type":"/problems/{"request-timeout" if status == 408 else "too-large"}",'
                f'"title":"{title}","status":{status},"detail":"{detail}"}}'
            ).encode()
        else:
            body = f'{{"error":"{detail}","errors":[]}}'.encode()
        start, message = _answer(status, body, self.content_type)
        await send(start)
        await send(message)


def _content_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class SecurityHeaders:
    """Adds the security headers to every HTTP answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                html = any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                )
                added = [h for h in _COMMON_HEADERS if h[0] not in present]
                if b"content-security-policy" not in present:
                    csp = PAGE_CSP if html else API_CSP
                    added.append((b"content-security-policy", csp.encode()))
                message = {**message, "headers": headers + added}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def serve_metrics(host: str, port: int, timeout: float) -> None:
    """prometheus_client's ``start_http_server`` (a thread per connection), with a socket
    timeout, the security headers and no version banner (the standalone writer's /metrics)."""
    import threading
    from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, make_server

    from prometheus_client import REGISTRY, make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    metrics_app = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            present = {name.lower() for name, _ in headers}
            extra = [(k, v) for k, v in SECURITY_HEADERS.items() if k.lower() not in present]
            return start_response(status, headers + extra, *rest)

        return metrics_app(environ, start)

    class Answer(ServerHandler):
        server_software = "thidua"

    class Handler(WSGIRequestHandler):
        def handle(self) -> None:  # WSGIRequestHandler.handle, with our ServerHandler
            try:
                self.raw_requestline = self.rfile.readline(65537)
                if len(self.raw_requestline) > 65536:
                    self.send_error(414)
                    return
                if not self.parse_request():
                    return
            except OSError:  # the timeout: a slow client is dropped
                return
            answer = Answer(
                self.rfile,
                self.wfile,  # type: ignore[arg-type]
                self.get_stderr(),
                self.get_environ(),
                multithread=False,
            )
            answer.request_handler = self  # type: ignore[attr-defined]
            answer.run(self.server.get_app())  # type: ignore[attr-defined]

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Server(ThreadingWSGIServer):
        daemon_threads = True

    Handler.timeout = timeout  # each read of the request: a slow client is dropped
    httpd = make_server(host, port, app, Server, handler_class=Handler)
    threading.Thread(target=httpd.serve_forever, name="metrics-http", daemon=True).start()
