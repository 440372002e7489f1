"""Notify's settings: the shared ``NotifySettings`` plus what only this service reads.

Kept here until they move into ``thidua/settings.py`` (one settings object per service).
"""

from __future__ import annotations

from pydantic import Field

from thidua.settings import NotifySettings


class NotifyServiceSettings(NotifySettings):
    notify_api_url: str | None = Field(
        None, description="api base URL for GET /v1/silences (None: no silences from the api)"
    )
    notify_api_token: str | None = Field(
        None, description="bearer token for the api when THIDUA_API_READ_TOKENS is set"
    )
    notify_external_url: str = Field(
        "http://127.0.0.1:8000", description="externalURL of the Alertmanager webhook payloads"
    )
    notify_tick_seconds: float = Field(
        30.0, gt=0, description="how often rules are re-evaluated without new results"
    )
    smtp_user: str | None = Field(None, description="SMTP login (with smtp_password)")
    smtp_password: str | None = None
    smtp_starttls: bool = False
