"""Results step: every materialized scorecard goes to the compacted ``kpi-results`` topic
(key ``period|unit``), where notify evaluates its rules. The message is defined once in
:mod:`thidua.contracts.results`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kafka import KafkaProducer

from services.writer import metrics
from thidua.contracts.results import result_message
from thidua.contracts.scorecard import Scorecard
from thidua.contracts.topics import Topic, physical


def results_publisher(
    producer: Callable[[], KafkaProducer], prefix: str
) -> Callable[[dict[str, list[Scorecard]], datetime], None]:
    topic = physical(Topic.KPI_RESULTS, prefix)

    def publish(results: dict[str, list[Scorecard]], computed_at: datetime) -> None:
        out = producer()
        for cards in results.values():
            for card in cards:
                key, value = result_message(card, computed_at)
                out.send(topic, key=key, value=value)
                metrics.RESULTS_PUBLISHED.inc()
        out.flush()

    return publish
