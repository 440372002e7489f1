"""The services: ingest, scoring, writer, notify, api (each its own process; none imports another)."""
