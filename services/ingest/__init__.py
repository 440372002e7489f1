"""Ingest: source systems (CloudEvents, xAPI, edXML) → canonical events → Kafka (SPEC §4)."""
