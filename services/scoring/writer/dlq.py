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
    try:  # the ingest service owns the dead-letter format when it is there
        from services.ingest.dlq import send_to_dlq  # type: ignore[import-not-found]
    except ImportError:
        send_to_dlq = None
    if send_to_dlq is not None:
        send_to_dlq(producer, prefix, letter.value, letter.key, letter.reason, STAGE)
        return
    headers = [
        ("reason", letter.reason.encode()),
        ("stage", STAGE.encode()),
        ("original_topic", letter.topic.encode()),
        ("original_partition", str(letter.partition).encode()),
        ("original_offset", str(letter.offset).encode()),
    ]
    producer.send(
        physical(Topic.DEAD_LETTER, prefix), value=letter.value, key=letter.key, headers=headers
    )


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
