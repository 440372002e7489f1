"""Alerts as a consumer pages through them (SPEC §7.3): filters by tier, block, rule,
severity, unit and state; each alert carries its unit's name; pages by an opaque cursor
(`limit` ≤ 500) or by `page`/`page_size`; counts per rule and severity over the whole filtered
set, so a panel can group without reading every page."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

MAX_LIMIT = 500


class CursorError(ValueError):
    """A cursor this api did not hand out."""


@dataclass(frozen=True)
class UnitFacts:
    name: str
    tier: str
    block: str | None


@dataclass(frozen=True)
class AlertFilter:
    state: str | None = None
    unit_id: str | None = None
    tier: str | None = None
    block: str | None = None
    rule: str | None = None
    severity: str | None = None

    def accepts(self, alert: Mapping[str, Any]) -> bool:
        return all(
            wanted is None or alert.get(field) == wanted
            for field, wanted in (
                ("state", self.state),
                ("unit_id", self.unit_id),
                ("tier", self.tier),
                ("block", self.block),
                ("rule", self.rule),
                ("severity", self.severity),
            )
        )


def with_unit(alert: dict[str, Any], units: Mapping[str, UnitFacts]) -> dict[str, Any]:
    """The alert with its unit's name, tier and block (the registry's, else its labels')."""
    facts = units.get(alert["unit_id"])
    labels = alert.get("labels") or {}
    return {
        **alert,
        "unit_name": facts.name if facts else labels.get("unit_name") or alert["unit_id"],
        "tier": facts.tier if facts else labels.get("tier"),
        "block": facts.block if facts else labels.get("block"),
    }


def encode_cursor(alert: Mapping[str, Any]) -> str:
    raw = orjson.dumps([alert["updated_at"], alert["fingerprint"]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, fingerprint = orjson.loads(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise CursorError(f"invalid cursor {cursor[:40]!r}") from None
    if not isinstance(updated_at, str) or not isinstance(fingerprint, str):
        raise CursorError(f"invalid cursor {cursor[:40]!r}")
    return updated_at, fingerprint


def _after(alerts: Sequence[dict[str, Any]], cursor: str) -> int:
    """Index of the first alert after the cursor's, in the order newest first, then
    fingerprint (the order alerts are loaded in). Times compare as instants."""
    updated_at, fingerprint = decode_cursor(cursor)
    try:
        moment = datetime.fromisoformat(updated_at)
    except ValueError:
        raise CursorError("invalid cursor") from None
    for index, alert in enumerate(alerts):
        current = datetime.fromisoformat(alert["updated_at"])
        if current < moment or (current == moment and alert["fingerprint"] > fingerprint):
            return index
    return len(alerts)


def page(
    alerts: Sequence[dict[str, Any]],
    limit: int,
    cursor: str | None = None,
    page_number: int | None = None,
) -> dict[str, Any]:
    """One page of ``alerts`` (already filtered, in order) with the counts of all of them."""
    if page_number is not None:
        start = (page_number - 1) * limit
    elif cursor:
        start = _after(alerts, cursor)
    else:
        start = 0
    items = list(alerts[start : start + limit])
    more = start + limit < len(alerts)
    return {
        "items": items,
        "total": len(alerts),
        "next_cursor": encode_cursor(items[-1]) if more and items else None,
        "counts": {
            "rule": dict(Counter(a["rule"] for a in alerts).most_common()),
            "severity": dict(Counter(a["severity"] for a in alerts).most_common()),
        },
    }
