"""The feeder against a local stand-in for ingest: batching, tokens, retries, refusals."""

from __future__ import annotations

import io
from datetime import date, datetime
from itertools import islice
from pathlib import Path

import pytest

from tools.simulate.feeder import (
    BATCH_CONTENT_TYPE,
    Credential,
    FeedError,
    FeedStats,
    ProgressPrinter,
    feed,
)
from tools.simulate.generator import generate
from tools.simulate.main import credentials_from_file, run_live

from .receiver import receiver


def _events(n: int) -> list[dict]:
    return list(
        islice(generate(seed=3, start=date(2025, 9, 1), end=date(2025, 9, 20), scale=0.1), n)
    )


def test_feed_sends_everything_in_batches_with_retries() -> None:
    events = _events(1200)
    with receiver() as (url, got):
        got.answers = [429, 503, 500]
        stats = feed(
            events, url, "dev-token-0123456789", batch_size=500, progress=None, backoff=0.01
        )
    assert stats.events == 1200 and stats.retries == 3
    assert sorted(e["id"] + e["time"] for e in got.events) == sorted(
        e["id"] + e["time"] for e in events
    )
    assert max(len(b) for b in got.batches) <= 500
    assert set(got.content_types) == {BATCH_CONTENT_TYPE}
    assert set(got.tokens) == {"Bearer dev-token-0123456789"}


def test_feed_routes_each_type_to_its_token() -> None:
    events = _events(800)
    creds = [
        Credential("tok-dvc-0123456789abcdef", ("vn.thidua.dvc.*",)),
        Credential("tok-all-0123456789abcdef", ("*",)),
    ]
    with receiver() as (url, got):
        feed(events, url, creds, batch_size=200, progress=None)
    for batch, token in zip(got.batches, got.tokens, strict=True):
        dvc = {e["type"].startswith("vn.thidua.dvc.") for e in batch}
        assert dvc == {token == "Bearer tok-dvc-0123456789abcdef"}


def test_feed_stops_on_a_refusal() -> None:
    with receiver() as (url, got):
        got.answers = [422]
        with pytest.raises(FeedError, match="422"):
            feed(_events(10), url, "dev-token-0123456789", progress=None)


def test_feed_gives_up_after_bounded_retries() -> None:
    with receiver() as (url, got):
        got.answers = [503] * 5
        with pytest.raises(FeedError, match="retries"):
            feed(
                _events(10), url, "dev-token-0123456789", progress=None, max_retries=2, backoff=0.01
            )


def test_live_mode_sends_todays_events_at_the_rate() -> None:
    with receiver() as (url, got):
        sent = run_live(url, [Credential("dev-token-0123456789")], seed=1, rate=50, max_seconds=1.5)
    assert 50 <= sent <= 200
    today = datetime.now().astimezone().date()
    times = [datetime.fromisoformat(e["time"]) for e in got.events]
    assert all(abs((t.date() - today).days) <= 1 for t in times)


def test_credentials_from_an_ingest_style_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVC_TOKEN", "dvc-token-0123456789")
    file = tmp_path / "sources.yaml"
    file.write_text(
        "sources:\n"
        "  - {name: dvc, token_env: DVC_TOKEN, types: ['vn.thidua.dvc.*']}\n"
        "  - {name: all, dev_token: all-token-0123456789, token_sha256: ab, types: ['*']}\n"
        "  - {name: unusable, token_sha256: cd}\n"
    )
    creds = credentials_from_file(file)
    assert creds == [
        Credential("dvc-token-0123456789", ("vn.thidua.dvc.*",)),
        Credential("all-token-0123456789", ("*",)),
    ]


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_is_rewritten_in_place_on_a_terminal() -> None:
    stream = _Stream(tty=True)
    printer = ProgressPrinter(stream)
    for events in (500, 1000):
        printer(FeedStats(events=events, batches=events // 500))
    printer.done("backfill done")
    text = stream.getvalue()
    assert text.startswith("\rsent 500 events in 1 batches")
    assert "\rsent 1,000 events in 2 batches" in text
    assert text.endswith(" retries)\nbackfill done\n") and text.count("\n") == 2


def test_progress_in_a_log_is_a_line_every_few_seconds() -> None:
    stream, now = _Stream(tty=False), [0.0]
    printer = ProgressPrinter(stream, every=5.0, clock=lambda: now[0])
    for second in range(12):  # a batch a second
        now[0] = float(second)
        printer(FeedStats(events=500 * (second + 1), batches=second + 1))
    printer.done("backfill done")
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split(" events")[0] for line in lines[:-1]] == [
        "sent 500",
        "sent 3,000",
        "sent 5,500",
    ]
    assert lines[-1] == "backfill done"
