"""Every metric the scoring worker exposes on ``/metrics``, declared in one place.

Metrics live in a registry per app (no import-time globals): tests can run several apps in one
process, and each worker serves only its own figures.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ScoringMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        # Events scored (state updated or found to be a resend), by canonical event type.
        self.events = Counter(
            "thidua_scoring_events_total", "Canonical events scored", ["type"], registry=r
        )
        # Messages sent to the dead-letter topic, by reason (undecodable, invalid).
        self.dead_letters = Counter(
            "thidua_scoring_dead_letters_total", "Messages dead-lettered", ["reason"], registry=r
        )
        # Unexpected failures inside the worker (not bad input), by stage.
        self.errors = Counter(
            "thidua_scoring_errors_total", "Unexpected scoring errors", ["stage"], registry=r
        )
        # Absolute counter values published to kpi-counters.
        self.counters_published = Counter(
            "thidua_scoring_counters_published_total", "kpi-counters messages sent", registry=r
        )
        # Counter values published again by the reconcile after a restore (non-zero after a
        # crash: counters the dead worker had not published, or published ahead).
        self.counters_repaired = Counter(
            "thidua_scoring_counters_repaired_total",
            "kpi-counters messages re-published after a restore",
            registry=r,
        )
        # Source partitions read again from a hole in the delivered offsets (see positions).
        self.seeks = Counter("thidua_scoring_seeks_total", "Seeks back over a hole", registry=r)
        # Records fetched while a rebalance stopped the flow, not delivered, sought back to
        # (faust_internals.put_back), by topic kind (source, changelog).
        self.put_back = Counter(
            "thidua_scoring_records_put_back_total",
            "Fetched records sought back to, not delivered",
            ["kind"],
            registry=r,
        )
        # Offset commits of the source partitions (every event before them fully published).
        self.commits = Counter("thidua_scoring_commits_total", "Offset commits", registry=r)
        # Wall time to score one batch and hand its messages to the producer.
        self.batch_seconds = Histogram(
            "thidua_scoring_batch_seconds",
            "Seconds per batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        # Events per batch (how well take() fills under load).
        self.batch_events = Histogram(
            "thidua_scoring_batch_events",
            "Events per batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 20_000),
            registry=r,
        )
        # Messages the worker has not scored yet, per assigned source partition.
        self.consumer_lag = Gauge(
            "thidua_scoring_consumer_lag",
            "Highwater minus next offset to score",
            ["topic", "partition"],
            registry=r,
        )
        # Source partitions (of each co-partitioned source topic) assigned to this worker; 0
        # means it idles: more workers than partitions (see docs/SCALING.md to raise them).
        self.assigned_partitions = Gauge(
            "thidua_scoring_assigned_partitions",
            "Source partitions assigned to this worker",
            registry=r,
        )
        # Keys held in memory per table (all assigned partitions).
        self.table_keys = Gauge(
            "thidua_scoring_table_keys", "Keys in a table", ["table"], registry=r
        )
