"""Dead-letter step: a message the writer cannot store goes to the dead-letter topic with its
reason, before its offset is committed (SPEC §4: nothing accepted is ever lost). The format
and the replay are ingest's (``thidua.dlq``): ``thidua replay-dlq`` re-produces the
letter to its original topic once the cause is fixed."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kafka import KafkaProducer

from services.writer import metrics
from services.writer.batch import DeadLetter
from thidua.dlq import located, send_to_dlq

log = logging.getLogger(__name__)

STAGE = "writer"


def send_dead_letters(producer: KafkaProducer, prefix: str, letters: Sequence[DeadLetter]) -> None:
    """Send and wait for the broker's acknowledgement of every letter."""
    for letter in letters:
        raw = letter.value if letter.value is not None else b""
        reason = located(letter.reason, letter.topic, letter.partition, letter.offset)
        send_to_dlq(producer, prefix, raw, letter.key, reason, STAGE, letter.topic)
        metrics.DEAD_LETTERED.labels(letter.topic).inc()
    if letters:
        producer.flush()
