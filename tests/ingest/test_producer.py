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
