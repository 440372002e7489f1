"""The services: ingest, scoring, writer, notify, api. Each is its own process and none
imports another (tests/unit/test_layers.py)."""
