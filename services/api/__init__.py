"""The api service (SPEC §5): rankings, scorecards, awards, alerts, live SSE, exports and the
operators' dashboard, read from ClickHouse through a cache that the writer invalidates."""
