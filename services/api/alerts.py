"""Alerts (written to ClickHouse by the writer from the ``alerts`` topic) and their silences.

Silences are kept by the api: written through to the ``silences`` table and held in memory,
so reading them never touches ClickHouse. The notify service reads them over HTTP.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from clickhouse_connect.driver.client import Client

from services.api.cache import SwrCache
from services.api.views import now_local, rfc3339

_ALERT_COLUMNS = (
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
)
_SILENCE_COLUMNS = (
    "id",
    "matchers",
    "starts_at",
    "ends_at",
    "created_by",
    "comment",
    "deleted",
    "updated_at",
)
ALERTS_TTL = 5.0
MAX_SILENCES = 200
T = TypeVar("T")


class TooManySilences(RuntimeError):
    """The cap on silences in force (active or pending) is reached (409)."""


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class AlertsService:
    def __init__(self, client: Client, pool: ThreadPoolExecutor, max_silences: int = MAX_SILENCES):
        self.client = client
        self.pool = pool
        self.cache: SwrCache[str, list[dict[str, Any]]] = SwrCache("alerts", pool, max_entries=1)
        self.max_silences = max_silences
        self._silences: dict[str, dict[str, Any]] | None = None
        # Each silence's (starts_at, ends_at), parsed once: not per alert per call.
        self._bounds: dict[str, tuple[datetime, datetime]] = {}

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """Run a ClickHouse call on the api's ClickHouse thread."""
        return await asyncio.wrap_future(self.pool.submit(call, *args))

    # ----- alerts --------------------------------------------------------------------------
    async def alerts(self, state: str | None, unit_id: str | None) -> list[dict[str, Any]]:
        rows = await self.cache.get("all", self._load_alerts, ALERTS_TTL)
        self.silences()
        assert self._silences is not None
        now = now_local()
        active = [s for s in self._silences.values() if self._status(s["id"], now) == "active"]
        items = []
        for row in rows:
            if (state and row["state"] != state) or (unit_id and row["unit_id"] != unit_id):
                continue
            silenced_by = [s["id"] for s in active if _matches(s, row)]
            items.append({**row, "silenced_by": silenced_by})
        return items

    def _load_alerts(self) -> list[dict[str, Any]]:
        sql = (
            f"SELECT {', '.join(_ALERT_COLUMNS)} FROM alerts FINAL "
            "ORDER BY updated_at DESC, fingerprint LIMIT 10000"
        )
        rows = self.client.query(sql).result_rows
        return [_alert(dict(zip(_ALERT_COLUMNS, row, strict=True))) for row in rows]

    def invalidate(self) -> None:
        self.cache.reload("all")

    # ----- silences ------------------------------------------------------------------------
    def silences(self) -> list[dict[str, Any]]:
        if self._silences is None:
            self._silences = self._load_silences()
            self._bounds = {key: _bounds(s) for key, s in self._silences.items()}
        now = now_local()
        return [
            {**s, "status": self._status(s["id"], now)}
            for s in sorted(self._silences.values(), key=lambda s: self._bounds[s["id"]][0])
        ]

    def _status(self, silence_id: str, now: datetime) -> str:
        starts_at, ends_at = self._bounds[silence_id]
        return "pending" if now < starts_at else ("expired" if now >= ends_at else "active")

    def _load_silences(self) -> dict[str, dict[str, Any]]:
        sql = f"SELECT {', '.join(_SILENCE_COLUMNS)} FROM silences FINAL WHERE deleted = 0"
        rows = self.client.query(sql).result_rows
        out = {}
        for row in rows:
            raw = dict(zip(_SILENCE_COLUMNS, row, strict=True))
            out[raw["id"]] = {
                "id": raw["id"],
                "matchers": orjson.loads(raw["matchers"]),
                "starts_at": rfc3339(_utc(raw["starts_at"])),
                "ends_at": rfc3339(_utc(raw["ends_at"])),
                "created_by": raw["created_by"],
                "comment": raw["comment"],
            }
        return out

    def create_silence(
        self,
        matchers: list[dict[str, str]],
        starts_at: datetime | None,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> dict[str, Any]:
        self.silences()  # make sure the in-memory copy is loaded before we add to it
        assert self._silences is not None
        now = now_local()
        in_force = sum(1 for key in self._silences if self._status(key, now) != "expired")
        if in_force >= self.max_silences:
            raise TooManySilences(f"{in_force} silences are in force (at most {self.max_silences})")
        silence: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "matchers": matchers,
            "starts_at": rfc3339(starts_at or now_local()),
            "ends_at": rfc3339(ends_at),
            "created_by": created_by,
            "comment": comment,
        }
        self._write(silence, deleted=False)
        self._silences[silence["id"]] = silence
        self._bounds[silence["id"]] = _bounds(silence)
        return {**silence, "status": self._status(silence["id"], now_local())}

    def delete_silence(self, silence_id: str) -> bool:
        self.silences()
        assert self._silences is not None
        silence = self._silences.pop(silence_id, None)
        if silence is None:
            return False
        self._bounds.pop(silence_id, None)
        self._write(silence, deleted=True)
        return True

    def _write(self, silence: dict[str, Any], deleted: bool) -> None:
        row = [
            silence["id"],
            orjson.dumps(silence["matchers"]).decode(),
            _utc(datetime.fromisoformat(silence["starts_at"])),
            _utc(datetime.fromisoformat(silence["ends_at"])),
            silence["created_by"],
            silence["comment"],
            1 if deleted else 0,
            datetime.now(UTC),
        ]
        self.client.insert("silences", [row], column_names=list(_SILENCE_COLUMNS))


def _alert(row: dict[str, Any]) -> dict[str, Any]:
    try:
        labels = orjson.loads(row["labels"]) if row["labels"] else {}
    except orjson.JSONDecodeError:
        labels = {}
    return {
        **row,
        "labels": labels if isinstance(labels, dict) else {},
        "starts_at": rfc3339(_utc(row["starts_at"])),
        "ends_at": rfc3339(_utc(row["ends_at"])) if row["ends_at"] else None,
        "updated_at": rfc3339(_utc(row["updated_at"])),
    }


def _bounds(silence: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(silence["starts_at"]), datetime.fromisoformat(silence["ends_at"])


def _matches(silence: dict[str, Any], alert: dict[str, Any]) -> bool:
    """Every matcher must equal the alert's field or label of that name (Alertmanager)."""
    for matcher in silence["matchers"]:
        name, value = matcher["name"], matcher["value"]
        actual = alert.get(name) if name in _ALERT_COLUMNS else alert["labels"].get(name)
        if actual != value:
            return False
    return True
