"""One test per patch of ``services.scoring.faust_internals``: each fails when the upstream code
under the patch changes (a new faust-streaming, aiokafka or mode-streaming release).

Each pins the sha256 of the source of every upstream function the patch copies, replaces,
wraps or relies on, checks the shape of the private methods it calls and, where cheap, runs
the patch against a real (unstarted) Faust app. When one fails: read the upstream change,
update the patch and its docstring, then the hash here. No broker needed."""

from __future__ import annotations

import ast
import asyncio
import hashlib
import importlib
import inspect
from collections import Counter
from importlib.metadata import version
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faust.types import TP
from mode import Service

from services.scoring import faust_internals
from services.scoring.faust_internals import (
    Checkpoint,
    ConsumerHookApp,
    SourceRecord,
    clear_store,
    client_thread,
    deliver_every_offset,
    deliver_source_batches,
    recovery_completed,
    restore_changelogs_whole,
    store_partitions,
    store_values,
    store_writer,
)

CONSUMER = "faust.transport.consumer"
DRIVER = "faust.transport.drivers.aiokafka"
RECOVERY = "faust.tables.recovery"
MEMORY = "faust.stores.memory"
SUBSCRIPTION = "aiokafka.consumer.subscription_state"


def _resolve(name: str) -> Any:
    """``"module:Class.attribute"`` → the function (a property's getter, a task's coroutine)."""
    module, path = name.split(":")
    obj: Any = importlib.import_module(module)
    for part in path.split("."):
        obj = inspect.getattr_static(obj, part)
    if isinstance(obj, property):
        obj = obj.fget
    return getattr(obj, "fun", obj)  # mode's @Service.task keeps the coroutine in ``fun``


def _sha(name: str) -> str:
    return hashlib.sha256(inspect.getsource(_resolve(name)).encode()).hexdigest()


def assert_unchanged(pins: dict[str, str]) -> None:
    changed = {name: _sha(name) for name, digest in pins.items() if _sha(name) != digest}
    assert not changed, (
        "upstream changed under services/scoring/faust_internals.py: "
        f"{sorted(changed)}. Read the change in the installed package, update the patch "
        f"(and its docstring), then these hashes: {changed}"
    )


def shape(name: str) -> str:
    """A callable's parameters: names, ``=`` for a default, ``*``/``**`` as declared."""
    out: list[str] = []
    for param in inspect.signature(_resolve(name)).parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            out.append(f"*{param.name}")
        elif param.kind is param.VAR_KEYWORD:
            out.append(f"**{param.name}")
        else:
            if param.kind is param.KEYWORD_ONLY and not any(p.startswith("*") for p in out):
                out.append("*")
            out.append(param.name + ("=" if param.default is not param.empty else ""))
    return f"({', '.join(out)})"


def users(attribute: str, module: str) -> set[str]:
    """The functions of ``module`` (``Class.method``) that name ``<something>.attribute``."""
    found: set[str] = set()

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                inner = (*scope, child.name)
            if isinstance(child, ast.Attribute) and child.attr == attribute:
                found.add(".".join(scope[:2]))
            visit(child, inner)

    visit(ast.parse(inspect.getsource(importlib.import_module(module))), ())
    return found


class _App(ConsumerHookApp):
    created: Any = None

    def on_consumer_created(self, consumer: Any) -> None:
        self.created = consumer


def _app(name: str = "faust-internals-test") -> _App:
    """A real Faust app on the kafka driver, never started (nothing connects)."""
    return _App(name, broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False)


def test_the_module_states_the_versions_it_was_written_against() -> None:
    for package, written_against in faust_internals.WRITTEN_AGAINST.items():
        assert version(package) == written_against, (
            f"{package} {version(package)} is installed; services/scoring/faust_internals.py "
            f"was written against {written_against}: run this file, re-read what changed, "
            "then update the versions in its docstring and WRITTEN_AGAINST"
        )
        assert f"{package} {written_against}" in (faust_internals.__doc__ or "")


def test_consumer_hook_app_sees_the_consumer_faust_builds() -> None:
    assert_unchanged(
        {
            "faust.app.base:App._new_consumer": (
                "bff6ccd646b71ea99a7e7a7d1c62adbf3d34432a0b42a39e6f60b4c0307d89c8"
            ),
            "faust.app.base:App.consumer": (
                "354b140caceca03c3e29a753faecfe63e42c3e8573de6c7baa3363a2326d960c"
            ),
        }
    )
    assert shape("faust.app.base:App._new_consumer") == "(self)"
    app = _app()
    consumer = app.consumer
    assert app.created is consumer


def test_deliver_source_batches_replaces_drain_messages_and_reads_a_fetch_as_getmany() -> None:
    assert_unchanged(
        {
            f"{CONSUMER}:Consumer._drain_messages": (
                "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"
            ),
            f"{CONSUMER}:Consumer.getmany": (
                "4b168d84882a70d6e3e2f9804430a63b92f8fd117d3187cbb4aeb54305bda34e"
            ),
            f"{CONSUMER}:Consumer._wait_next_records": (
                "6218e1969a636b3ff504ad1b8e7ad58a113572e43d746cc96d684ed5153032c6"
            ),
            f"{CONSUMER}:Consumer._reset_state": (
                "488b46f5c7f1d0b0cc8e15986f752ebe95a184ee5ba9371ae1f0053b35f6d1e7"
            ),
            f"{CONSUMER}:Fetcher._fetcher": (
                "68f894f0b577d8100419d6288088177609415aec9fc0ae82aec70b961a2e59b1"
            ),
            f"{DRIVER}:Consumer._to_message": (
                "7c24f6511b2fcef7cbfe73526e78de033bfe0df211f1fd30509d699c9deb6ce4"
            ),
        }
    )
    assert shape(f"{CONSUMER}:Consumer._drain_messages") == "(self, fetcher)"
    assert shape(f"{CONSUMER}:Consumer._wait_next_records") == "(self, timeout)"
    assert shape(f"{DRIVER}:Consumer._to_message") == "(self, tp, record)"
    assert shape("mode.services:Service.wait_first") == "(self, *coros, timeout=)"
    assert users("_drain_messages", CONSUMER) == {"Fetcher._fetcher"}  # its only caller

    source = TP("source", 0)
    changelog = TP("changelog", 1)

    def record(tp: TP, offset: int) -> ConsumerRecord[bytes, bytes]:
        return ConsumerRecord(
            tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, headers=[]
        )

    async def scenario() -> None:
        app = _app()
        consumer: Any = app.consumer
        seen: list[Any] = []
        delivered: list[Any] = []

        class Batches:  # the agent's channel, as the loop uses it
            async def put(self, batch: Any) -> None:
                delivered.append(batch)

        async def callback(message: Any) -> None:
            seen.append(message)

        consumer.callback = callback
        fetched = {
            source: [record(source, 5), record(source, 6)],
            changelog: [record(changelog, 9)],
        }
        fetcher = Service()  # (Faust's Fetcher: the loop reads its ``_stopped``)

        async def wait_next_records(timeout: float) -> tuple[Any, Any]:
            fetcher._stopped.set()  # one fetch, then the loop ends
            return fetched, {source, changelog}

        consumer._wait_next_records = wait_next_records
        deliver_source_batches(
            app,
            consumer,
            source_names=frozenset({"source"}),
            batches=lambda: Batches(),  # type: ignore[arg-type,return-value]
            on_put_back=lambda tp, n: None,
        )
        await asyncio.wait_for(consumer._drain_messages(fetcher), 10)
        assert delivered == [
            [
                SourceRecord("source", 0, 5, b"k", b"v", source),
                SourceRecord("source", 0, 6, b"k", b"v", source),
            ]
        ], "the source records of a fetch go to the agent as one list"
        assert [(m.topic, m.partition, m.offset) for m in seen] == [("changelog", 1, 9)], (
            "changelog records take Faust's path, as Faust's messages"
        )

    asyncio.run(scenario())


def test_positions_after_fetch_wraps_the_threads_fetch_records() -> None:
    assert_unchanged(
        {
            f"{DRIVER}:AIOKafkaConsumerThread.getmany": (
                "26fc5fc9f3b667e104f9657dbc49da3b3b6620d40cc9856761cbaf4da2172557"
            ),
            f"{DRIVER}:AIOKafkaConsumerThread._fetch_records": (
                "39a2c6c79fc1455a199629912b533458a720c64983bc957420a42feef6593baa"
            ),
        }
    )
    assert shape(f"{DRIVER}:AIOKafkaConsumerThread._fetch_records") == (
        "(self, consumer, active_partitions, timeout=, max_records=)"
    )
    assert users("_fetch_records", DRIVER) == {"AIOKafkaConsumerThread.getmany"}


def test_put_back_reads_aiokafkas_partition_states() -> None:
    assert_unchanged(
        {
            f"{SUBSCRIPTION}:SubscriptionState.subscription": (
                "fbbd34b17218040f353c192f52caf54bf8f3678e701a825c2c29baa6aa9a3a60"
            ),
            f"{SUBSCRIPTION}:Subscription.assignment": (
                "3357225d2120f41a5c6fe3f1224cd565fa93122ec921e33c306a70d9e8786207"
            ),
            f"{SUBSCRIPTION}:Assignment.tps": (
                "45623b46739581c4ab6bf98670be5988df628b945389e4b4a5beba5680c940a9"
            ),
            f"{SUBSCRIPTION}:Assignment.state_value": (
                "183fea82ef48f3e6136739948785fbf07feec2d7119b60e5e9378264ba6780de"
            ),
            f"{SUBSCRIPTION}:TopicPartitionState.has_valid_position": (
                "ebe7c39d949a1f189c840c1d181997cdf5d7809665bc36c5e74b4246e3d4c62f"
            ),
            f"{SUBSCRIPTION}:TopicPartitionState.position": (
                "816b6b289bd14f5c733ecf9b26e7bca2fe3e3b9ec0c26de4dd727a729a27c168"
            ),
        }
    )
    assert shape(f"{SUBSCRIPTION}:Assignment.state_value") == "(self, tp)"
    assert shape("aiokafka:AIOKafkaConsumer.seek") == "(self, partition, offset)"

    async def unassigned() -> Any:
        from aiokafka import AIOKafkaConsumer

        client = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")  # not started
        return faust_internals._assignment(client)

    assert asyncio.run(unassigned()) is None
    # (tests/scoring/test_put_back.py runs it against the broker)


def test_deliver_every_offset_covers_every_reader_of_read_offset() -> None:
    assert users("_read_offset", CONSUMER) == {
        "Consumer.__init__",
        "Consumer.perform_seek",
        "Consumer.seek",
        "Consumer.on_partitions_revoked",
        "Consumer._drain_messages",
    }
    assert users("_read_offset", DRIVER) == {"AIOKafkaConsumerThread._seek_wait"}
    consumer: Any = _app().consumer
    deliver_every_offset(consumer)
    tp = TP("t", 0)
    consumer._read_offset.update({tp: 5})  # as perform_seek writes it
    consumer._read_offset[tp] = 7  # as seek does
    assert consumer._read_offset[tp] is None
    assert consumer._read_offset.get(tp) is None
    consumer._read_offset.pop(tp, None)  # as a revocation does


def test_seek_after_restore_wraps_perform_seek_where_recovery_calls_it() -> None:
    assert_unchanged(
        {
            f"{CONSUMER}:Consumer.perform_seek": (
                "0e8c130ff4b0afd82c0be9c5fd831316e10febc62c94032833911096e156d7c6"
            ),
            f"{RECOVERY}:Recovery.on_recovery_completed": (
                "6ef567acf072e46da3fccbccc6d662371f634f622c3d510972d5df81f70ae3ac"
            ),
            f"{RECOVERY}:Recovery._resume_streams": (
                "d986a6710c1aca98f08c4c723fb3eadc5bf24576ad4eb9da3dd3eecedda2f24e"
            ),
        }
    )
    assert shape(f"{CONSUMER}:Consumer.perform_seek") == "(self)"
    assert users("perform_seek", RECOVERY) == {
        "Recovery.on_recovery_completed",
        "Recovery._resume_streams",
    }
    assert users("perform_seek", CONSUMER) == {"Consumer.getmany"}


def test_client_thread_reaches_the_aiokafka_consumer_in_fausts_thread() -> None:
    assert_unchanged(
        {
            f"{CONSUMER}:ThreadDelegateConsumer.__init__": (
                "7072ae80eac1ff62b52ce9503a8fe7b6ff44fbb390b8f6beba7161b31b8bb483"
            ),
            f"{DRIVER}:AIOKafkaConsumerThread._ensure_consumer": (
                "ff4a4c693b7ec63f4a76dfb61c419380bef70dd32383fe38ebcfcc27091605a6"
            ),
            "mode.threads:QueueServiceThread.call_thread": (
                "479edda75b54734b48dabbb33071259949ded0a6f9fa6f82e81afdc42aff6e55"
            ),
        }
    )
    assert shape(f"{DRIVER}:AIOKafkaConsumerThread._ensure_consumer") == "(self)"
    assert shape("mode.threads:QueueServiceThread.call_thread") == "(self, fun, *args, **kwargs)"
    from faust.exceptions import ConsumerNotStarted

    with pytest.raises(ConsumerNotStarted):
        client_thread(_app().consumer).client()


def test_seek_in_thread_replaces_fausts_seek_from_the_calling_thread() -> None:
    assert_unchanged(
        {
            f"{CONSUMER}:Consumer.seek": (
                "b86a9fe05f956b30cf299c787b6787c6e0349cbf1ae556f2456a1e97b15dbb22"
            ),
            f"{CONSUMER}:ThreadDelegateConsumer._seek": (
                "4f95c631420410a5fe6ecb1eff2f9010d7cfff6861fe00d41889bb31bd7df8b1"
            ),
            f"{DRIVER}:AIOKafkaConsumerThread.seek": (
                "1498560d05f025820be906f3695710b6ac45258ea1c96ab5a403fcb38520c234"
            ),
        }
    )


def test_start_offsets_asks_aiokafka_for_committed_else_first_offsets() -> None:
    assert shape("aiokafka:AIOKafkaConsumer.committed") == "(self, partition)"
    assert shape("aiokafka:AIOKafkaConsumer.beginning_offsets") == "(self, partitions)"


def test_recover_up_to_end_offsets_replaces_highwaters() -> None:
    assert_unchanged(
        {
            f"{CONSUMER}:ThreadDelegateConsumer.highwaters": (
                "3a2723b22582ffb712e24c25b9f3eecad230e76847b1c5ec40fe369c6fbb2bdf"
            ),
            f"{DRIVER}:AIOKafkaConsumerThread.highwaters": (
                "b49ed48ec1731816169d552bc5b11d3449d4906a7250a484220ae364386d4d65"
            ),
            f"{DRIVER}:AIOKafkaConsumerThread._highwaters": (
                "a7f4f97d9f32aca2777713e22671d70eae4b3ae51541bb09a90448ce83acefce"
            ),
            f"{RECOVERY}:Recovery._build_highwaters": (
                "91b4cc0d3724ae7bfc398e873684fc6f667ef8feb61a3b3314346ef11f2823de"
            ),
        }
    )
    assert shape(f"{CONSUMER}:Consumer.highwaters") == "(self, *partitions)"
    assert shape("aiokafka:AIOKafkaConsumer.end_offsets") == "(self, partitions)"
    assert users("highwaters", RECOVERY) == {"Recovery._build_highwaters"}


def test_restore_changelogs_whole_and_recovery_completed_use_recoverys_state() -> None:
    assert_unchanged(
        {
            f"{RECOVERY}:Recovery.on_rebalance": (
                "aa4d997a1795ceae3880f98311b46935d9ae1a183a699b9a283bb4306bc8641f"
            ),
            f"{RECOVERY}:Recovery.on_recovery_completed": (
                "6ef567acf072e46da3fccbccc6d662371f634f622c3d510972d5df81f70ae3ac"
            ),
        }
    )
    app = _app()
    recovery: Any = app.tables.recovery  # type: ignore[attr-defined]
    assert isinstance(recovery.active_offsets, Counter)
    recovery.active_offsets[TP("changelog", 0)] = 12
    restore_changelogs_whole(app)
    assert not recovery.active_offsets
    assert recovery_completed(app) is False
    recovery.completed.set()
    assert recovery_completed(app) is True


def test_the_memory_store_is_written_through_its_dicts() -> None:
    assert_unchanged(
        {
            f"{MEMORY}:Store.__post_init__": (
                "e59c82f3785458b2c6bb8179a01b57270be3edf167615a3f6508f102b173baa2"
            ),
            f"{MEMORY}:Store._clear": (
                "643f3308526183151186febde7a144637ed03066325f50c693c6196e04efca44"
            ),
            f"{MEMORY}:Store.apply_changelog_batch": (
                "71863e3cd727aac2001c4f19a393c637275eab36056c9a2d395ed1c7528e7647"
            ),
            f"{MEMORY}:Store._create_batch_iterator": (
                "b082c8bcc040382347025bd5b08d31700b2e6b1d2c0232f1de551f1b5495d1ed"
            ),
            f"{MEMORY}:Store.on_recovery_completed": (
                "a00bef343e139602606996e88809e62731a9113691ae678095266a52e0e0b013"
            ),
            "faust.tables.table:Table._set_key": (
                "40f6f41bc5a8110e682ac36de1a7f82881148140cf5705aa24e1549adabea897"
            ),
            "faust.tables.table:Table.on_key_set": (
                "a370e35ca55c2c7e36e93f0d4b485927c32d49199043cab2314572846184dd94"
            ),
        }
    )
    table: Any = _app().Table("entity_to_versions", key_type=bytes, value_type=bytes)
    put = store_writer(table)
    put(0, b"kept", b"1")
    put(1, b"revoked", b"2")
    assert table.data[b"kept"] == b"1", "the store reads what was written into its dicts"
    assert store_values(table) == {b"kept": b"1", b"revoked": b"2"}
    # A rebalance keeping partition 0 only: the store drops the other's keys, by partition.
    asyncio.run(table.data.on_recovery_completed({TP("entity_to_versions", 0)}, set()))
    assert dict(table.data) == {b"kept": b"1"}
    assert store_partitions(table) == {b"kept": 0}
    clear_store(table)
    assert not store_values(table) and not store_partitions(table)


def test_checkpoint_produces_through_aiokafka_and_commits_through_faust() -> None:
    assert_unchanged(
        {
            f"{DRIVER}:Producer._ensure_producer": (
                "5592a4bbdf2513253f98233a4eac931ded2a531a86f269cddcc33bc3f5827db5"
            ),
            f"{CONSUMER}:ThreadDelegateConsumer._commit": (
                "a20eec84e4b2ed5072f6c6ab7707ac03d69e2255d67f115c31f8dc9cc246dc66"
            ),
            f"{DRIVER}:AIOKafkaConsumerThread.commit": (
                "d31c8558ba25310c0b7acbf128a244131f6e51d1b555bcb137188f08857d6558"
            ),
            f"{DRIVER}:AIOKafkaConsumerThread._commit": (
                "932852ce7a23f658804273d0296de6affaa7d21c19311c279712c2fae91a3b03"
            ),
        }
    )
    assert shape(f"{DRIVER}:Producer._ensure_producer") == "(self)"
    assert shape(f"{CONSUMER}:ThreadDelegateConsumer._commit") == "(self, offsets)"
    assert shape("aiokafka:AIOKafkaProducer.create_batch") == "(self)"
    assert shape("aiokafka:AIOKafkaProducer.send_batch") == "(self, batch, topic, *, partition)"
    accumulator = "aiokafka.producer.message_accumulator"
    assert shape(f"{accumulator}:BatchBuilder.append") == (
        "(self, *, timestamp, key, value, headers=)"
    )
    assert shape(f"{accumulator}:BatchBuilder.record_count") == "(self)"
    from faust.exceptions import NotReady

    with pytest.raises(NotReady):  # not started: no aiokafka producer yet
        asyncio.run(Checkpoint(_app()).produce([("t", 0, b"k", b"v")]))
