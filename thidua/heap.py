"""The worker's heap and Python's cyclic garbage collector.

Scoring makes many short-lived objects (each event's decoded form, state, contribution,
messages) and keeps many long-lived ones (the remembered entity states), with no reference
cycles among them: reference counting frees its garbage. The cyclic collector still walks
every tracked object that survives a young collection, again and again as it ages, for
nothing. So its passes are rarer (``GC_THRESHOLDS``), and each batch's survivors are frozen
(``gc.freeze``: out of the collector's reach, at no cost) instead of walked. The gain of each
is in the commits that made them; the worker's figures in the README's benchmark table.

What freezing risks is cyclic garbage made by others (an asyncio future's exception, say)
that was alive when a batch ended: it is not collected while frozen. :func:`collect_frozen`
unfreezes everything and collects it all, on a timer (``app``): a pause that grows with the
tracked objects, so only every ten minutes.
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
    writer's process (a batch's rows outlive many young collections: at Python's defaults
    the collector walked them again and again, slowing the decoding down)."""
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
