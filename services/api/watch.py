"""Change detection when the writer runs in another process (ClickHouse server mode).

The writer re-materializes ``kpi_scores`` for the periods a flush touched, stamping every row
of a run with one ``computed_at``; the ``alerts`` table carries ``updated_at``. Polling the
newest stamp per period (a small GROUP BY) tells which periods moved since the last look, and
they go through the same ``on_refresh`` as the embedded writer's notices.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

_PERIOD_STAMPS = "SELECT period, max(computed_at) FROM kpi_scores GROUP BY period"
_ALERTS_STAMP = "SELECT max(updated_at), count() FROM alerts"


class MaterializationWatcher:
    def __init__(
        self,
        client: Client,
        pool: ThreadPoolExecutor,
        on_refresh: Callable[[set[str]], None],
        interval: float = 1.0,
    ) -> None:
        self.client = client
        self.pool = pool  # the api's one ClickHouse thread: HTTP sessions take one query at a time
        self.on_refresh = on_refresh
        self.interval = interval
        self._periods: dict[str, datetime] | None = None
        self._alerts: tuple[object, ...] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="api-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.pool.submit(self.poll).result(timeout=60)
            except Exception:  # ClickHouse away: try again next round
                log.warning("could not poll ClickHouse for new results", exc_info=True)

    def poll(self) -> set[str]:
        """Compare the stamps with the last look; notify and return the changed periods.
        The first look only records where things stand."""
        periods = {str(p): stamp for p, stamp in self.client.query(_PERIOD_STAMPS).result_rows}
        alerts = tuple(self.client.query(_ALERTS_STAMP).result_rows[0])
        first = self._periods is None
        changed = set() if first else {p for p, t in periods.items() if self._periods.get(p) != t}  # type: ignore[union-attr]
        alerts_moved = not first and alerts != self._alerts
        self._periods, self._alerts = periods, alerts
        if changed or alerts_moved:
            self.on_refresh(changed)
        return changed
