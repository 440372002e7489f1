"""Alerts as published: the ``alerts`` topic JSON and the Alertmanager webhook payload."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from thidua.contracts.periods import LOCAL_TZ

FIRING = "firing"
RESOLVED = "resolved"
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "no end" for a firing alert


def fingerprint(rule: str, unit_id: str, criterion: str) -> str:
    return hashlib.sha256(f"{rule}\x1f{unit_id}\x1f{criterion}".encode()).hexdigest()[:16]


def rfc3339(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="milliseconds") if moment else None


@dataclass(frozen=True, slots=True)
class Alert:
    """One notification: a state change (firing / resolved) or a repeat of a firing alert."""

    rule: str
    unit_id: str
    criterion: str
    state: str
    severity: str
    summary: str
    starts_at: datetime
    updated_at: datetime
    ends_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    repeat: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.unit_id, self.criterion)

    def all_labels(self) -> dict[str, str]:
        """Identity labels first; a rule's extra labels never override them."""
        return {
            **self.labels,
            "alertname": self.rule,
            "rule": self.rule,
            "unit_id": self.unit_id,
            "criterion": self.criterion,
            "severity": self.severity,
        }

    def to_json(self) -> dict[str, Any]:
        """The ``alerts`` topic message (key = fingerprint)."""
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "unit_id": self.unit_id,
            "criterion": self.criterion,
            "state": self.state,
            "severity": self.severity,
            "summary": self.summary,
            "labels": dict(self.labels),
            "starts_at": rfc3339(self.starts_at),
            "ends_at": rfc3339(self.ends_at),
            "updated_at": rfc3339(self.updated_at),
        }

    def to_webhook(self, generator_url: str) -> dict[str, Any]:
        return {
            "status": self.state,
            "labels": self.all_labels(),
            "annotations": {"summary": self.summary},
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at) or _ZERO_TIME,
            "generatorURL": generator_url,
            "fingerprint": self.fingerprint,
        }


def webhook_payloads(
    alerts: Sequence[Alert], receiver: str, external_url: str
) -> list[dict[str, Any]]:
    """Alertmanager webhook JSON (version 4), one payload per rule (the group)."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(alert.rule, []).append(alert)
    payloads = []
    for rule, members in sorted(groups.items()):
        items = [
            a.to_webhook(f"{external_url.rstrip('/')}/v1/alerts?unit_id={a.unit_id}")
            for a in members
        ]
        common = dict(items[0]["labels"])
        for item in items[1:]:
            common = {k: v for k, v in common.items() if item["labels"].get(k) == v}
        summaries = {item["annotations"]["summary"] for item in items}
        payloads.append(
            {
                "version": "4",
                "groupKey": f'{{}}:{{rule="{rule}"}}',
                "truncatedAlerts": 0,
                "status": FIRING if any(a.state == FIRING for a in members) else RESOLVED,
                "receiver": receiver,
                "groupLabels": {"rule": rule},
                "commonLabels": common,
                "commonAnnotations": {"summary": summaries.pop()} if len(summaries) == 1 else {},
                "externalURL": external_url,
                "alerts": items,
            }
        )
    return payloads
