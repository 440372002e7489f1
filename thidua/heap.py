"""The worker's heap and Python's cyclic garbage collector.

Scoring makes many short-lived objects (each event's decoded form, state, contribution,
messages) and keeps many long-lived ones (the remembered entity states), with no reference
cycles among them: reference counting frees its garbage. The cyclic collector still walks
every tracked object that survives a young collection, again and again as it ages: at
Python's default thresholds about a quarter of the scoring time (bench/scoring: 43.9 → 31.6 µs
an event with rarer passes, ``GC_THRESHOLDS``), and with those a further fifth (pure scoring of
200,000 events, 27–33 → 25.5 µs an event) until each batch's survivors are frozen
(``gc.freeze``: out of the collector's reach, at no cost) instead of walked.

What freezing risks is cyclic garbage made by others (an asyncio future's exception, say)
that was alive when a batch ended: it is not collected while frozen. :func:`collect_frozen`
unfreezes everything and collects it all, on a timer (``app``): a pause of ~0.6 s per million
tracked objects, every ten minutes.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

# (generation 0 every 50,000 allocations, 1 every 20 of those, 2 every 100 of those.)
GC_THRESHOLDS = (50_000, 20, 100)
FULL_COLLECT_SECONDS = 600.0


def collect_rarely() -> None:
    """This process's cyclic collections at ``GC_THRESHOLDS``: the scoring worker, and the
    writer's process (a batch's 20,000 rows outlive many young collections: at Python's
    defaults the collector walked them again and again, decoding 15–20% slower)."""
    gc.set_threshold(*GC_THRESHOLDS)


@contextmanager
def frozen_after() -> Iterator[None]:
    """No cyclic collection inside; what is alive at the end is frozen (see module doc)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def collect_frozen() -> int:
    """Unfreeze and collect everything; returns the unreachable objects found."""
    started = time.perf_counter()
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    found = gc.collect()
    log.info(
        "full garbage collection: %d unreachable of %d frozen objects (%.2f s)",
        found,
        frozen,
        time.perf_counter() - started,
    )
    return found
