"""The hot read, served before the framework: a ranking already in memory.

Dashboards and portals poll ``/v1/rankings``; once a period is cached the answer is bytes
in memory, and FastAPI's routing and dependency solving would cost more than the work
itself. This ASGI layer answers exactly those requests — same bytes, same auth, same
metrics — and hands everything else (cold or stale periods, errors, cookies) to the app.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from services.api import metrics
from services.api.service import KpiService
from thidua.contracts.events import Tier
from thidua.settings import ApiSettings

PATH = "/v1/rankings"
_TIERS = {t.value: t for t in Tier}
_JSON = (b"content-type", b"application/json")
_NO_CACHE = (b"cache-control", b"no-cache")


class RankingsFastPath:
    def __init__(self, app: ASGIApp, service: KpiService, settings: ApiSettings) -> None:
        self.app = app
        self.service = service
        self.tokens = [t.encode() for t in settings.api_read_tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            started = time.perf_counter()
            cached = self._cached(scope)
            if cached is not None:
                body, etag = cached
                status = 304 if _header(scope, b"if-none-match") == etag else 200
                if status == 304:
                    body = b""
                    headers = [(b"etag", etag), _NO_CACHE]
                else:
                    length = (b"content-length", str(len(body)).encode())
                    headers = [_JSON, length, (b"etag", etag), _NO_CACHE]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                metrics.REQUEST_SECONDS.labels("GET", PATH, str(status)).observe(
                    time.perf_counter() - started
                )
                return
        await self.app(scope, receive, send)

    def _cached(self, scope: Scope) -> tuple[bytes, bytes] | None:
        if self.tokens and not self._authorized(scope):
            return None  # the app answers 401/403 or reads the dashboard cookies
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        query = dict(params)
        if len(query) != len(params) or not {"tier", "period"} <= query.keys() <= {
            "tier",
            "period",
            "block",
        }:
            return None
        tier = _TIERS.get(query["tier"])
        block = query.get("block") or None
        if tier is None or (block is not None and len(block) > 200):
            return None
        view = self.service.fresh_view(query["period"])
        if view is None:
            return None
        metrics.CACHE_REQUESTS.labels("periods", "hit").inc()
        return view.rankings_encoded(tier, block)

    def _authorized(self, scope: Scope) -> bool:
        value = _header(scope, b"authorization")
        if value is None:
            return False
        scheme, _, token = value.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return any(hmac.compare_digest(token.strip(), known) for known in self.tokens)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None
