"""``put_back``: records a worker fetched but did not deliver are read again, unless the
partition was sought elsewhere in between. A real aiokafka consumer on the test broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer

from services.scoring.faust_internals import ClientThread, put_back
from thidua.contracts.topics import Topic, physical

from .harness import create_topics

pytestmark = pytest.mark.integration


class _Direct:
    """A ``ClientThread`` on a plain aiokafka consumer: calls run on the test's own loop."""

    def __init__(self, client: AIOKafkaConsumer) -> None:
        self._client = client

    def client(self) -> AIOKafkaConsumer:
        return self._client

    async def call(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return await method(*args)


def _produce(bootstrap: str, topic: str, n: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(n):
        producer.send(topic, key=b"k", value=str(i).encode(), partition=0)
    producer.flush()
    producer.close()


async def _read_all(client: AIOKafkaConsumer, tp: TopicPartition, n: int) -> list[Any]:
    records: list[Any] = []
    for _ in range(50):
        fetched = await client.getmany(tp, timeout_ms=200)
        records += fetched.get(tp, [])
        if len(records) >= n:
            break
    return records


def test_undelivered_records_are_read_again_unless_sought_since(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    create_topics(kafka_bootstrap, topic_prefix)
    topic = physical(Topic.KPI_COUNTERS, topic_prefix)
    _produce(kafka_bootstrap, topic, 10)
    tp = TopicPartition(topic, 0)
    other = TopicPartition(topic, 1)  # not assigned: left alone

    async def scenario() -> None:
        client = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
        await client.start()
        try:
            client.assign([tp])
            client.seek(tp, 0)
            thread: ClientThread = _Direct(client)

            # Read, not delivered, put back: the same records come again.
            records = await _read_all(client, tp, 10)
            assert [r.offset for r in records] == list(range(10))
            read_to = {tp: await client.position(tp), other: 3}
            rewound = await put_back(thread, {tp: records, other: records[:2]}, read_to)
            assert rewound == [tp]
            assert await client.position(tp) == 0
            again = await _read_all(client, tp, 10)
            assert [r.value for r in again] == [r.value for r in records]

            # Sought elsewhere meanwhile (a recovery's seek): that seek stands.
            read_to = {tp: await client.position(tp)}
            client.seek(tp, 4)
            assert await put_back(thread, {tp: again}, read_to) == []
            assert await client.position(tp) == 4

            # Part of a fetch: back to its first record.
            client.seek(tp, 6)
            tail = await _read_all(client, tp, 4)
            assert await put_back(thread, {tp: tail}, {tp: await client.position(tp)}) == [tp]
            assert await client.position(tp) == 6
        finally:
            await client.stop()

    asyncio.run(scenario())
