"""Every metric of the ClickHouse writer, declared once (arroyo style), one comment each.

Names start with ``thidua_writer_`` so they can share the api process's registry in embedded
mode without clashing.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Rows inserted into ClickHouse, per table (events_raw, kpi_counters, alerts).
ROWS_WRITTEN = Counter("thidua_writer_rows_written", "Rows inserted into ClickHouse", ["table"])

# Wall time of one INSERT of one table's batch (retries are separate observations).
WRITE_LATENCY = Histogram(
    "thidua_writer_write_seconds",
    "ClickHouse insert latency",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Failed inserts (retried until they succeed; offsets are not committed meanwhile).
WRITE_ERRORS = Counter("thidua_writer_write_errors", "Failed ClickHouse inserts", ["table"])

# Messages per flushed batch, all tables together.
BATCH_SIZE = Histogram(
    "thidua_writer_batch_messages",
    "Messages in one flushed batch",
    buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000),
)

# Messages sent to the dead-letter topic because they could not become rows.
DEAD_LETTERED = Counter("thidua_writer_dead_lettered", "Messages sent to the DLQ", ["topic"])

# High watermark minus the consumer position, per assigned partition.
CONSUMER_LAG = Gauge("thidua_writer_consumer_lag", "Consumer lag", ["topic", "partition"])

# Duration of the last re-materialization of kpi_criteria/kpi_scores after a flush.
MATERIALIZE_SECONDS = Gauge(
    "thidua_writer_last_materialize_seconds", "Duration of the last materialization"
)

# Failed re-materializations (their days stay pending and are retried).
MATERIALIZE_ERRORS = Counter("thidua_writer_materialize_errors", "Failed materializations")

# Periods re-materialized (counted per period computed).
PERIODS_MATERIALIZED = Counter("thidua_writer_periods_materialized", "Periods re-materialized")

# Unix time of the last successful flush (offsets committed).
LAST_FLUSH = Gauge(
    "thidua_writer_last_flush_timestamp_seconds", "Unix time of the last committed flush"
)
# Scorecards published to kpi-results for notify (one per unit and materialized period).
RESULTS_PUBLISHED = Counter("thidua_writer_results_published", "Scorecards sent to kpi-results")
