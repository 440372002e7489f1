"""Every ClickHouse table, declared once. Migrations create them; a test compares
``system.columns`` against these declarations.

Rollup shape (snuba outcomes style): raw events → per-day counters → per-period KPI tables.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]
    engine: str
    order_by: str
    partition_by: str | None = None
    comment: str = ""

    def create_sql(self) -> str:
        cols = ",\n  ".join(f"`{n}` {t}" for n, t in self.columns)
        parts = [f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols}\n) ENGINE = {self.engine}"]
        if self.partition_by:
            parts.append(f"PARTITION BY {self.partition_by}")
        parts.append(f"ORDER BY {self.order_by}")
        if self.comment:
            parts.append(f"COMMENT '{self.comment}'")
        return "\n".join(parts)


EVENTS_RAW = Table(
    name="events_raw",
    columns=(
        ("source", "String"),
        ("id", "String"),
        ("type", "LowCardinality(String)"),
        ("time", "DateTime64(6, 'UTC')"),
        ("seq", "UInt64"),
        ("entity_key", "String"),
        ("unit_id", "String"),
        ("data", "String"),
        ("inserted_at", "DateTime64(3, 'UTC') DEFAULT now64(3)"),
    ),
    # A writer retry re-inserts identical (source, id, seq) rows: they collapse. Resends of
    # (source, id) carry a later seq and stay, so a batch recompute can prove they change nothing.
    engine="ReplacingMergeTree",
    order_by="(type, entity_key, source, id, seq)",
    partition_by="toYear(time)",
    comment="canonical events as accepted by ingest",
)

KPI_COUNTERS = Table(
    name="kpi_counters",
    columns=(
        ("unit_id", "String"),
        ("measure", "LowCardinality(String)"),
        ("day", "Date"),
        ("partition", "UInt16"),
        ("value", "Float64"),
        ("version", "UInt64"),
    ),
    # Absolute values per (unit, measure, day, source partition) from the compacted topic;
    # the latest offset wins, so replays are idempotent.
    engine="ReplacingMergeTree(version)",
    order_by="(unit_id, measure, day, partition)",
    comment="per-day measure deltas kept by the scoring workers",
)

KPI_CRITERIA = Table(
    name="kpi_criteria",
    columns=(
        ("period", "String"),
        ("unit_id", "String"),
        ("criterion", "LowCardinality(String)"),
        ("numerator", "Float64"),
        ("denominator", "Float64"),
        ("value", "Nullable(Float64)"),
        ("target", "Float64"),
        ("met", "UInt8"),
        ("attainment", "Float64"),
        ("computed_at", "DateTime64(6, 'UTC')"),
    ),
    engine="ReplacingMergeTree(computed_at)",
    order_by="(period, unit_id, criterion)",
    comment="per unit x criterion x period",
)

KPI_SCORES = Table(
    name="kpi_scores",
    columns=(
        ("period", "String"),
        ("unit_id", "String"),
        ("name", "String"),
        ("tier", "LowCardinality(String)"),
        ("block", "String"),
        ("active", "UInt8"),
        ("score", "Float64"),
        ("criteria_met", "UInt16"),
        ("criteria_total", "UInt16"),
        ("rank", "UInt32"),
        ("no_data", "Array(String)"),
        ("award_eligible", "UInt8"),
        ("computed_at", "DateTime64(6, 'UTC')"),
    ),
    engine="ReplacingMergeTree(computed_at)",
    order_by="(period, tier, unit_id)",
    comment="per unit x period; rank 0 = not ranked (inactive or unregistered)",
)

ALERTS = Table(
    name="alerts",
    columns=(
        ("fingerprint", "String"),
        ("rule", "String"),
        ("unit_id", "String"),
        ("criterion", "String"),
        ("state", "LowCardinality(String)"),
        ("severity", "LowCardinality(String)"),
        ("summary", "String"),
        ("labels", "String"),
        ("starts_at", "DateTime64(3, 'UTC')"),
        ("ends_at", "Nullable(DateTime64(3, 'UTC'))"),
        ("updated_at", "DateTime64(3, 'UTC')"),
    ),
    engine="ReplacingMergeTree(updated_at)",
    order_by="(fingerprint)",
    comment="alerts as published on the alerts topic",
)

SILENCES = Table(
    name="silences",
    columns=(
        ("id", "String"),
        ("matchers", "String"),
        ("starts_at", "DateTime64(3, 'UTC')"),
        ("ends_at", "DateTime64(3, 'UTC')"),
        ("created_by", "String"),
        ("comment", "String"),
        ("deleted", "UInt8"),
        ("updated_at", "DateTime64(3, 'UTC')"),
    ),
    # Alertmanager-style silences kept by the api; notify reads them over HTTP. Deleting one
    # writes a newer version with deleted = 1, so history stays.
    engine="ReplacingMergeTree(updated_at)",
    order_by="(id)",
    comment="alert silences (matchers as JSON)",
)

TABLES: tuple[Table, ...] = (EVENTS_RAW, KPI_COUNTERS, KPI_CRITERIA, KPI_SCORES, ALERTS, SILENCES)
