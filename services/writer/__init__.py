"""The single ClickHouse writer (see ``writer.py``); one step per module:
``decode``/``rows`` → ``batch`` → ``sink`` (+ ``dlq``) → commit → ``refresh``."""

from services.writer.writer import Writer

__all__ = ["Writer"]
