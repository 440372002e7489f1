"""Every metric of the api service, declared once (arroyo style), each with what it tells."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Latency of each request by route template (not raw path: unit ids would explode cardinality).
REQUEST_SECONDS = Histogram(
    "thidua_api_request_seconds",
    "HTTP request latency by route",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
# hit: served from memory; stale: served from memory while a reload runs; miss: waited for a load.
CACHE_REQUESTS = Counter(
    "thidua_api_cache_requests_total", "Cache lookups by cache and result", ["cache", "result"]
)
# How long ClickHouse takes to compute what the cache holds (the time readers do not wait).
CACHE_LOAD_SECONDS = Histogram(
    "thidua_api_cache_load_seconds",
    "Time to load one cache entry from ClickHouse",
    ["cache"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# Dashboards and consumers currently following live rankings.
SSE_CLIENTS = Gauge("thidua_api_sse_clients", "Open SSE streams")
# Refresh notices received from the writer (one per flush that changed periods).
REFRESHES = Counter("thidua_api_refreshes_total", "on_refresh notices from the writer")
SSE_EVENTS = Counter("thidua_api_sse_events_total", "SSE ranking events sent")
