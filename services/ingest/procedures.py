"""procedure_id → its versions in time, for the DVCQG adapter's channel.

The DVCQG adapter (services/ingest/dvcqg.py) needs one fact SPEC §4's dossier event carries and
the national portal's dossier does not: whether the dossier's channel was *full-online*.
``KenhThucHien = 2`` only says "online"; it is full-online when the procedure was full-online
and eligible **at the dossier's event time** (its ``NgayTiepNhan``): the procedure's latest
version with ``time <= NgayTiepNhan`` (SPEC §3's version order, ``(time, seq)``), among the
versions ingest has read so far. A procedure unknown at that time (no version yet, or only later
ones) gives ``online_partial``: C03 only counts what is shown to be full-online.

Where the versions come from: ingest copies every ``procedure.upserted`` it accepts, from any
endpoint, to its own small topic (``Topic.INGEST_PROCEDURES``, see ``IngestState.deliver``), and
a background thread follows that topic like the OrganId registry follows units. Reading the DVC
topic itself would mean decoding every dossier and rating again in ingest: it is read once,
at start, up to its end then, for the versions accepted before the copies existed.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from kafka import TopicPartition

from services.ingest import metrics
from services.ingest.registry import OrganRegistry
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.topics import Topic, physical

log = logging.getLogger(__name__)
_MARK = EventType.PROCEDURE_UPSERTED.value.encode()


class ProcedureMap:
    """Pure state: every version of every procedure, sorted by ``(time, seq)``."""

    def __init__(self) -> None:
        # procedure_id → sorted [(time, seq, full_online_eligible ∧ full_online)]
        self._versions: dict[str, list[tuple[datetime, int, bool]]] = {}

    def __len__(self) -> int:
        return len(self._versions)

    def __contains__(self, procedure_id: object) -> bool:
        return procedure_id in self._versions

    def apply(self, event: CanonicalEvent) -> None:
        if event.type is not EventType.PROCEDURE_UPSERTED:
            return
        data = event.data
        full = bool(data.get("full_online_eligible")) and bool(data.get("full_online"))
        versions = self._versions.setdefault(str(data["procedure_id"]), [])
        bisect.insort(versions, (event.time, event.seq, full))

    def full_online_at(self, procedure_id: str, moment: datetime) -> bool | None:
        """Whether the procedure was full-online and eligible at ``moment`` (None: not known)."""
        versions = self._versions.get(procedure_id)
        if not versions:
            return None
        # The last version with time <= moment (any seq at that very time).
        index = bisect.bisect_right(versions, (moment, 2**63, True))
        return versions[index - 1][2] if index else None


class ProcedureCatalogue(OrganRegistry):
    """The OrganId registry's reader, pointed at ingest's procedure topic (after one pass over
    the DVC topic's history)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        super().__init__(bootstrap, prefix, Topic.INGEST_PROCEDURES)
        self._history = physical(Topic.EVENTS_DVC, prefix)
        self._backfilled = False
        self._loaded = threading.Event()
        self.procedures = ProcedureMap()

    async def wait_loaded(self, timeout: float) -> bool:
        """Whether the DVC topic's history is read (waiting up to ``timeout``): until then a
        channel could be decided wrong."""
        if self._loaded.is_set():
            return True
        return await asyncio.to_thread(self._loaded.wait, timeout)

    async def resolve_procedures(self, procedure_ids: Iterable[str], timeout: float) -> None:
        """Catch up with the topic (bounded) when one of ``procedure_ids`` is not known yet."""
        if timeout > 0 and any(p not in self.procedures for p in procedure_ids):
            await asyncio.to_thread(self.wait_caught_up, timeout)

    def _consume(self) -> None:
        if not self._backfilled:
            self._backfill()
        super()._consume()

    def _backfill(self) -> None:
        """The DVC topic from its beginning to its end as of now, procedures only."""
        consumer = self._reader()
        try:
            numbers = consumer.partitions_for_topic(self._history) or set()
            partitions = [TopicPartition(self._history, n) for n in sorted(numbers)]
            if partitions:
                consumer.assign(partitions)
                consumer.seek_to_beginning(*partitions)
                ends = consumer.end_offsets(partitions)
                while not self._stop.is_set() and any(
                    consumer.position(p) < ends[p] for p in partitions
                ):
                    for records in consumer.poll(timeout_ms=200).values():
                        for record in records:
                            self._apply(record.value)
            self._backfilled = not self._stop.is_set()
            if self._backfilled:
                self._loaded.set()
        finally:
            consumer.close()

    def _report(self) -> None:
        metrics.PROCEDURES_KNOWN.set(len(self.procedures))

    def _apply(self, raw: bytes) -> None:
        if _MARK not in raw:
            return
        try:
            self.procedures.apply(CanonicalEvent.from_bytes(raw))
        except (ValueError, KeyError) as exc:
            log.warning("skipping an unreadable procedure record: %s", exc)
