"""Scoring: Faust workers turning canonical events into per-day KPI counters (docs/DESIGN.md).

``processors`` holds the pure logic; ``app``/``agents`` wire it to Kafka; ``main`` runs a worker.
"""
