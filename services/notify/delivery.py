"""Delivery of notifications: Alertmanager webhooks (HTTP POST) and e-mail (SMTP).

A failed delivery is logged and counted, never raised: the alert state and the ``alerts``
topic are the record; the next repeat interval delivers again.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from services.notify.alerts import FIRING, Alert, webhook_payloads
from services.notify.metrics import NOTIFICATIONS

log = logging.getLogger(__name__)
EMAIL_MAX_LINES = 100


def post_webhooks(
    alerts: Sequence[Alert],
    urls: Sequence[str],
    external_url: str,
    receiver: str = "thidua-cds",
    timeout: float = 5.0,
    retries: int = 2,
) -> int:
    """POST each group's payload to every URL; returns the number of successful POSTs."""
    if not alerts or not urls:
        return 0
    ok = 0
    payloads = webhook_payloads(alerts, receiver, external_url)
    with httpx.Client(timeout=timeout) as client:
        for url in urls:
            for payload in payloads:
                for attempt in range(retries + 1):
                    try:
                        response = client.post(url, json=payload)
                        response.raise_for_status()
                    except httpx.HTTPError as exc:
                        if attempt == retries:
                            log.warning("webhook %s failed: %s", url, exc)
                            NOTIFICATIONS.labels("webhook", "error").inc()
                        continue
                    ok += 1
                    NOTIFICATIONS.labels("webhook", "sent").inc()
                    break
    return ok


def email_message(alerts: Sequence[Alert], sender: str, recipients: Sequence[str]) -> EmailMessage:
    firing = [a for a in alerts if a.state == FIRING]
    resolved = [a for a in alerts if a.state != FIRING]
    message = EmailMessage()
    message["Subject"] = (
        f"[Thi đua CĐS] {len(firing)} cảnh báo đang kích hoạt, {len(resolved)} đã hết"
    )
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="thidua-cds")
    lines = ["Hệ thống Thi đua CĐS — tỉnh Tuyên Quang", ""]
    if firing:
        lines += ["Cảnh báo đang kích hoạt:"]
        lines += _capped(
            f"  • [{a.severity}] {a.summary} (từ {a.starts_at:%d/%m/%Y %H:%M})" for a in firing
        )
        lines.append("")
    if resolved:
        lines += ["Đã hết cảnh báo:"] + _capped(f"  • {a.summary}" for a in resolved)
    message.set_content("\n".join(lines), charset="utf-8")
    return message


def _capped(lines: Iterable[str], limit: int = EMAIL_MAX_LINES) -> list[str]:
    """An e-mail stays readable: the rest is on the dashboard and in the webhook."""
    items = list(lines)
    if len(items) <= limit:
        return items
    return items[:limit] + [f"  … và {len(items) - limit} cảnh báo khác (xem /v1/alerts)"]


def send_email(
    alerts: Sequence[Alert],
    host: str | None,
    port: int,
    sender: str,
    recipients: Sequence[str],
    user: str | None = None,
    password: str | None = None,
    starttls: bool = False,
    timeout: float = 10.0,
) -> bool:
    if not alerts or not host or not recipients:
        return False
    message = email_message(alerts, sender, recipients)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls()
            if user and password:
                smtp.login(user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("e-mail to %s via %s:%d failed: %s", recipients, host, port, exc)
        NOTIFICATIONS.labels("email", "error").inc()
        return False
    NOTIFICATIONS.labels("email", "sent").inc()
    return True
