"""Delete a test's topics when it ends: the session broker is shared and long-lived, and every
test creates topics under its own prefix; left behind they pile up (tens of thousands of
partitions) until the broker runs out of open files and shuts down."""

from __future__ import annotations

import logging

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

log = logging.getLogger(__name__)


def delete_topics(bootstrap: str, *prefixes: str) -> list[str]:
    """Delete every topic whose name starts with one of ``prefixes`` (best effort)."""
    wanted = tuple(p for p in prefixes if p)
    if not wanted:
        return []
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=10_000)
    except (KafkaError, OSError) as exc:
        log.warning("topics under %s not deleted: %s", wanted, exc)
        return []
    try:
        names = [t for t in admin.list_topics() if t.startswith(wanted)]
        if names:
            admin.delete_topics(names, timeout_ms=10_000)
        return names
    except (KafkaError, OSError) as exc:
        log.warning("topics under %s not deleted: %s", wanted, exc)
        return []
    finally:
        admin.close()
