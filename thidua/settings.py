"""Typed settings, one object per service, read from THIDUA_* environment variables.

Every variable is listed with its default in the README's configuration table; a test checks
that compose, k8s and this module agree.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from thidua.contracts.plans import DEFAULT_PLANS_DIR

_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "token", "xxx"}


def local_chdb_dsn() -> str:
    """The embedded store ``thidua up`` keeps under ``THIDUA_VAR_DIR`` (default ``var``)."""
    var = Path(os.environ.get("THIDUA_VAR_DIR", "var"))
    return f"chdb://{(var / 'chdb').resolve()}"


def store_dsn(settings: CommonSettings) -> str:
    """The DSN a tool should read: the configured one, else the store of ``thidua up`` when it
    exists (so ``thidua recompute`` after ``thidua up`` needs no flags)."""
    if "THIDUA_CLICKHOUSE_DSN" not in os.environ:
        local = local_chdb_dsn()
        if Path(local.removeprefix("chdb://")).exists():
            return local
    return settings.clickhouse_dsn


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THIDUA_", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    topic_prefix: str = Field("thidua.", description="prefix of every physical topic name")
    topic_partitions: int = Field(4, ge=1, description="partitions of each source topic")
    clickhouse_dsn: str = Field(
        "chdb:///var/thidua/chdb",
        description="chdb:///path (embedded engine) or http(s)://user:pass@host:8123/db",
    )
    plans_dir: Path = Field(
        DEFAULT_PLANS_DIR,
        description="directory of plan files (criteria, targets, weights; SPEC §7.1)",
    )
    clickhouse_cluster: str = Field(
        "",
        description="ClickHouse cluster name (remote_servers): Replicated* tables and ON CLUSTER "
        "DDL through Keeper; empty: one node (the embedded default)",
    )
    log_level: str = Field("INFO", description="Python log level")
    http_header_timeout_seconds: float = Field(
        10.0, gt=0, description="close a connection whose request line and headers take longer"
    )
    http_body_timeout_seconds: float = Field(
        30.0, gt=0, description="408 when a request body takes longer to arrive"
    )
    http_idle_timeout_seconds: float = Field(
        5.0, gt=0, description="close a keep-alive connection idle this long"
    )
    http_max_connections: int = Field(
        2000, ge=1, description="connections + requests a process serves at once before 503"
    )

    @field_validator("clickhouse_cluster")
    @classmethod
    def _cluster_name(cls, cluster: str) -> str:
        from thidua.store.cluster import check_name

        return check_name(cluster)

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb:")


class IngestSettings(CommonSettings):
    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8001
    ingest_tokens_file: Path | None = Field(
        None, description="YAML of source systems: token sha256, allowed types"
    )
    ingest_max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    ingest_max_events: int = Field(1000, ge=1)
    ingest_max_inflight: int = Field(64, ge=1, description="requests in flight before 429")
    ingest_workers: int = Field(1, ge=1, description="uvicorn worker processes")
    xapi_activity_map_file: Path = Field(
        Path(__file__).resolve().parents[1] / "config" / "xapi-activities.yaml",
        description="xAPI activity id → program",
    )
    ingest_open: bool = Field(
        False, description="development only: accept any caller when no tokens file is set"
    )
    ingest_max_pending: int = Field(
        200_000, ge=1, description="records awaiting the broker's ack before 429"
    )
    ingest_registry_wait_seconds: float = Field(
        2.0, ge=0, description="edXML: wait this long for the unit registry to catch up"
    )


class ScoringSettings(CommonSettings):
    scoring_app_id: str = Field("thidua-scoring", description="Faust app id (consumer group)")
    scoring_host: str = "127.0.0.1"
    scoring_port: int = 8002
    scoring_data_dir: Path = Field(Path("var/thidua/scoring"), description="Faust table store")


class NotifySettings(CommonSettings):
    notify_host: str = "127.0.0.1"
    notify_port: int = 8003
    notify_rules_file: Path | None = None
    notify_webhook_urls: list[str] = Field(default_factory=list)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "thidua-cds@localhost"
    smtp_to: list[str] = Field(default_factory=list)


class WriterSettings(CommonSettings):
    writer_group: str = Field("thidua-writer", description="consumer group of the writer")
    writer_batch_rows: int = Field(20_000, ge=1, description="flush after this many rows")
    writer_batch_seconds: float = Field(0.5, gt=0, description="…or after this long")
    writer_refresh_seconds: float = Field(
        1.0,
        gt=0,
        description="while the writer is behind, re-materialize the KPI tables at most this "
        "often (once caught up: after every flush)",
    )


class ApiSettings(CommonSettings):
    """The api's settings. On chDB the writer runs in the api's process with its own
    ``WriterSettings`` (``tools.embedded``): ``writer_embedded`` only says whether it does."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_read_tokens: list[str] = Field(
        default_factory=list, description="bearer tokens for API consumers (empty: open)"
    )
    api_write_tokens: list[str] = Field(
        default_factory=list,
        description="bearer tokens for writes: silences, recompute (empty: every write refused)",
    )
    api_write_tokens_file: Path | None = Field(
        None, description="more write tokens, one a line: a mounted secret (compose, k8s)"
    )
    api_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="413 above this many bytes of request body"
    )
    api_max_streams: int = Field(
        100, ge=1, description="SSE streams open at once; beyond, 503 with Retry-After"
    )
    api_max_silences: int = Field(
        200, ge=1, description="silences kept at once (active or pending); beyond, 409"
    )
    api_dashboard_public: bool = Field(True, description="dashboard without a token")
    writer_embedded: bool | None = Field(
        None, description="run the ClickHouse writer inside api (default: when DSN is chdb)"
    )

    @field_validator("api_read_tokens", "api_write_tokens")
    @classmethod
    def _no_placeholder_tokens(cls, tokens: list[str]) -> list[str]:
        for token in tokens:
            if token.lower() in _PLACEHOLDER_SECRETS or len(token) < 16:
                raise ValueError("API tokens must be real secrets of 16+ characters")
            if not token.isascii() or not token.isprintable() or " " in token:
                raise ValueError("API tokens must be printable ASCII without spaces")
        return tokens

    def write_tokens(self) -> list[str]:
        """``api_write_tokens`` and those of ``api_write_tokens_file`` (read now: a missing or
        bad file raises, and the api refuses to start)."""
        tokens = list(self.api_write_tokens)
        if self.api_write_tokens_file is not None:
            text = self.api_write_tokens_file.read_text(encoding="utf-8")
            tokens += self._no_placeholder_tokens(text.split())
        return tokens

    def local_write_token(self) -> str | None:
        """The write token `thidua up` made for this machine (:func:`local_write_token_file`)."""
        try:
            return local_write_token_file().read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    @property
    def run_writer(self) -> bool:
        return self.embedded_clickhouse if self.writer_embedded is None else self.writer_embedded


def local_write_token_file() -> Path:
    """Where `thidua up` keeps the api write token it generated (mode 0600), for
    `thidua recompute` on the same machine: ``$THIDUA_VAR_DIR/api-write-token``."""
    return Path(os.environ.get("THIDUA_VAR_DIR", "var")) / "api-write-token"
