"""What every request of one ingest process shares, built at start and closed at stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.ingest import metrics
from services.ingest.auth import Authenticator, authenticator_from
from services.ingest.cloudevents import PendingEvent
from services.ingest.errors import Refused
from services.ingest.procedures import ProcedureCatalogue
from services.ingest.producer import DeliveryFailed, EventProducer, Overloaded
from services.ingest.registry import OrganRegistry
from services.ingest.xapi import load_activity_map
from thidua.contracts.events import EventType, Program
from thidua.contracts.topics import Topic, physical
from thidua.kafka_admin import ensure_topics
from thidua.settings import IngestSettings

log = logging.getLogger(__name__)


@dataclass
class IngestState:
    settings: IngestSettings
    auth: Authenticator
    activities: dict[str, Program]
    producer: EventProducer | None = None
    registry: OrganRegistry | None = None
    procedures: ProcedureCatalogue | None = None  # the DVCQG adapter's, read once it is used
    inflight: int = field(default=0)

    @classmethod
    def configure(cls, settings: IngestSettings) -> IngestState:
        """Read config files (fails fast on a bad one); Kafka is joined in :meth:`start`."""
        return cls(
            settings=settings,
            auth=authenticator_from(settings.ingest_tokens_file, settings.ingest_open),
            activities=load_activity_map(settings.xapi_activity_map_file),
        )

    def start(self) -> None:
        s = self.settings
        ensure_topics(s.kafka_bootstrap, s.topic_prefix, s.topic_partitions)
        self.producer = EventProducer(s.kafka_bootstrap, s.topic_prefix, s.ingest_max_pending)
        self.registry = OrganRegistry(s.kafka_bootstrap, s.topic_prefix)
        self.registry.start()
        if self.auth.dvcqg:  # read the procedures' history now, not on the first dossier
            self.procedure_catalogue()
        log.info("ingest connected to Kafka at %s (prefix %r)", s.kafka_bootstrap, s.topic_prefix)

    def stop(self) -> None:
        if self.registry is not None:
            self.registry.stop()
        if self.procedures is not None:
            self.procedures.stop()
        if self.producer is not None:
            self.producer.close()

    async def deliver(self, events: Sequence[PendingEvent], source: str) -> int:
        """Produce and wait for the broker; counts accepted events per type."""
        if self.producer is None:
            raise Refused(503, "ingest is starting: Kafka not joined yet", source=source)
        procedures = [e for e in events if e.type is EventType.PROCEDURE_UPSERTED]
        try:
            await self.producer.produce(events)
            if procedures:  # after the originals: the catalogue never knows more than scoring
                topic = physical(Topic.INGEST_PROCEDURES, self.settings.topic_prefix)
                await self.producer.produce(procedures, topic)
        except Overloaded as exc:
            raise Refused(429, f"overloaded: {exc}", source=source, types=_types(events)) from None
        except DeliveryFailed as exc:
            log.error("delivery failed: %s", exc)
            raise Refused(503, str(exc), source=source, types=_types(events)) from None
        for event_type, count in Counter(_types(events)).items():
            metrics.EVENTS_ACCEPTED.labels(source, event_type).inc(count)
        metrics.LAST_ACCEPTED.labels(source).set(time.time())
        return len(events)

    def procedure_catalogue(self) -> ProcedureCatalogue:
        """Started with ingest when a token may use the DVCQG adapter (else never: an ingest
        without it does not read the DVC topic's history)."""
        if self.procedures is None:
            s = self.settings
            self.procedures = ProcedureCatalogue(s.kafka_bootstrap, s.topic_prefix)
            self.procedures.start()
        return self.procedures

    async def ready(self) -> bool:
        return self.producer is not None and await asyncio.to_thread(self.producer.ping)


def _types(events: Sequence[PendingEvent]) -> list[str]:
    return [event.type.value for event in events]
