"""Silences, as the api keeps them (``GET /v1/silences``): Alertmanager-style equality
matchers on an alert's fields or labels, active in ``[starts_at, ends_at)``.

A silenced alert still changes state and still goes to the ``alerts`` topic; only webhooks
and e-mail stay quiet. Without an api (or while it is down) nothing is silenced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from services.notify.alerts import Alert

log = logging.getLogger(__name__)
_FIELDS = ("rule", "unit_id", "criterion", "severity", "state", "fingerprint")


def matches(silence: dict[str, Any], alert: Alert) -> bool:
    fields = {name: getattr(alert, name) for name in _FIELDS}
    labels = alert.labels
    for matcher in silence.get("matchers") or []:
        name, value = matcher.get("name"), matcher.get("value")
        actual = fields[name] if name in fields else labels.get(str(name))
        if actual != value:
            return False
    return bool(silence.get("matchers"))


def active(silence: dict[str, Any], now: datetime) -> bool:
    try:
        starts = datetime.fromisoformat(str(silence["starts_at"]).replace("Z", "+00:00"))
        ends = datetime.fromisoformat(str(silence["ends_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return False
    return starts <= now < ends


def silenced(alert: Alert, silences: Sequence[dict[str, Any]], now: datetime) -> bool:
    return any(active(s, now) and matches(s, alert) for s in silences)


class SilenceSource:
    """Fetches the api's silences at most every ``ttl`` seconds; keeps the last good list."""

    def __init__(
        self, api_url: str | None, ttl: float = 30.0, timeout: float = 3.0, token: str | None = None
    ) -> None:
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.url = api_url.rstrip("/") + "/v1/silences" if api_url else None
        self.ttl = ttl
        self.timeout = timeout
        self._items: list[dict[str, Any]] = []
        self._fetched = 0.0

    def current(self) -> list[dict[str, Any]]:
        if self.url is None or time.monotonic() - self._fetched < self.ttl:
            return self._items
        self._fetched = time.monotonic()
        try:
            response = httpx.get(self.url, timeout=self.timeout, headers=self.headers)
            response.raise_for_status()
            body = response.json()
            self._items = list(body.get("items", []) if isinstance(body, dict) else body)
        except (httpx.HTTPError, ValueError) as exc:
            log.debug("silences unavailable from %s: %s", self.url, exc)
        return self._items
