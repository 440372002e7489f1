"""Dead-letter step: a message the writer cannot store goes to the dead-letter topic with its
reason, before its offset is committed (SPEC §4: nothing accepted is ever lost)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kafka import KafkaProducer

from services.scoring.writer import metrics
from services.scoring.writer.batch import DeadLetter
from thidua.contracts.topics import Topic, physical

log = logging.getLogger(__name__)

STAGE = "writer"


def _send(producer: KafkaProducer, prefix: str, letter: DeadLetter) -> None:
    raw = letter.value if letter.value is not None else b""
    try:  # ingest owns the dead-letter format (and its replay) when it is installed
        from services.ingest.dlq import send_to_dlq
    except ImportError:
        send_to_dlq = None
    if send_to_dlq is not None:
        send_to_dlq(producer, prefix, raw, letter.key, letter.reason, STAGE, letter.topic)
        return
    headers = [
        ("original_topic", letter.topic.encode()),
        ("reason", letter.reason.encode()),
        ("stage", STAGE.encode()),
    ]
    producer.send(physical(Topic.DEAD_LETTER, prefix), value=raw, key=letter.key, headers=headers)


def send_dead_letters(producer: KafkaProducer, prefix: str, letters: Sequence[DeadLetter]) -> None:
    """Send and wait for the broker's acknowledgement of every letter."""
    for letter in letters:
        log.warning(
            "dead-lettering %s[%d]@%d: %s",
            letter.topic,
            letter.partition,
            letter.offset,
            letter.reason,
        )
        _send(producer, prefix, letter)
        metrics.DEAD_LETTERED.labels(letter.topic).inc()
    if letters:
        producer.flush()
