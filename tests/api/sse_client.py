"""A minimal SSE reader for tests: the next event of a text/event-stream response."""

from __future__ import annotations

from collections.abc import Iterator

import httpx


def events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event name, data) of each event; comments (keep-alives) are skipped."""
    name, data = "message", list[str]()
    for line in response.iter_lines():
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", list[str]()
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
