"""The hot-path serialisation equals the contract's, and seq is monotonic."""

from __future__ import annotations

from services.ingest.cloudevents import PendingEvent, validate_envelope
from services.ingest.producer import canonical_bytes
from tests.ingest.conftest import dossier
from thidua.contracts.events import CanonicalEvent


def test_canonical_bytes_read_back_as_the_model_would_write_them() -> None:
    for time in ("2025-03-01T10:00:00.123456+07:00", "2025-03-01T03:00:00Z"):
        event = validate_envelope(0, dossier(1, time=time))
        assert isinstance(event, PendingEvent)
        model = CanonicalEvent(
            source=event.source,
            id=event.id,
            type=event.type,
            time=event.time,
            seq=42,
            data=event.data,
        )
        fast = CanonicalEvent.from_bytes(canonical_bytes(event, 42))
        assert fast == model
        assert CanonicalEvent.from_bytes(model.to_bytes()) == fast


def test_acks_resolve_once_every_record_answered_from_the_sender_thread() -> None:
    import asyncio
    import threading

    from services.ingest import metrics
    from services.ingest.producer import _Acks

    async def scenario() -> dict[str, BaseException]:
        acks = _Acks(3, asyncio.get_running_loop())

        def sender() -> None:  # kafka-python calls back on its own thread
            acks.on_result("t.events-dvc", object())
            acks.on_result("t.events-dvc", TimeoutError("no ack"))
            acks.on_result("t.events-edoc", object())

        before = metrics.PRODUCER_ERRORS.labels(topic="t.events-dvc")._value.get()
        threading.Thread(target=sender).start()
        await asyncio.wait_for(acks.future, 5)
        after = metrics.PRODUCER_ERRORS.labels(topic="t.events-dvc")._value.get()
        assert after == before + 1
        return acks.errors

    errors = asyncio.run(scenario())
    assert list(errors) == ["t.events-dvc"]


def test_send_never_waits_on_the_event_loop(kafka_bootstrap: str, topic_prefix: str) -> None:
    """After the start-up warm-up, a send that would block (kafka-python's max_block_ms)
    raises at once and the request is shed (429), instead of holding the loop for seconds."""
    import asyncio
    import time

    import pytest
    from kafka.errors import KafkaTimeoutError

    from services.ingest.producer import EventProducer, Overloaded
    from thidua.kafka_admin import ensure_topics

    ensure_topics(kafka_bootstrap, topic_prefix, 1)
    producer = EventProducer(kafka_bootstrap, topic_prefix, 1000)
    try:
        assert producer._producer.config["max_block_ms"] == 0
        event = validate_envelope(0, dossier(1))
        assert isinstance(event, PendingEvent)
        assert asyncio.run(producer.produce([event])) == 1

        def blocked(*_args: object, **_kwargs: object) -> None:
            raise KafkaTimeoutError("metadata not available")

        producer._producer.send = blocked  # type: ignore[method-assign]
        started = time.perf_counter()
        with pytest.raises(Overloaded):
            asyncio.run(producer.produce([event, event]))
        assert time.perf_counter() - started < 0.5 and producer.pending == 0
    finally:
        producer.close(timeout=5)
