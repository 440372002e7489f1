"""One migrated chDB for the api tests (chDB opens one path per process), filled once."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.api import data
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier
from thidua.contracts.plans import default_plans
from thidua.settings import ApiSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate

TOKEN = "read-token-for-tests-0123456789"
WRITE_TOKEN = "write-token-for-tests-0123456789"
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
BASE_DAY = date(2025, 3, 10)


@pytest.fixture(scope="session")
def config() -> CriteriaConfig:
    return default_plans().plans[0]


# Package scope: chDB opens one path per process, so the engine must be closed before the
# next package's tests open theirs.
@pytest.fixture(scope="package")
def ch(tmp_path_factory: pytest.TempPathFactory, config: CriteriaConfig) -> Iterator[Client]:
    path = tmp_path_factory.mktemp("api-chdb") / "chdb"
    client = get_client(f"chdb://{path}")
    migrate(client, progress=lambda _: None)
    fill(client, config)
    yield client
    client.close()


def fill(client: Client, config: CriteriaConfig) -> None:
    """Province agencies P1 (every criterion met), P2 (C03 at 60%), P3 (half the criteria
    without data) and P4 (inactive); districts D1, D2 (closing into X1 when 2026 begins) and
    D3 (registered in 2025, closing into X1 on 2025-07-01, SPEC §7.2); commune X1;
    enterprises E1 (both met), E2 (E02 not met). Blocks K1 = {P1, P2}, K2 = {P3}."""
    pa, di, co, en = Tier.PROVINCE_AGENCY, Tier.DISTRICT, Tier.COMMUNE, Tier.ENTERPRISE
    data.insert_units(
        client,
        data.unit_event("P1", pa, name="Sở Thông tin và Truyền thông", block="K1"),
        data.unit_event("P2", pa, name="Sở Nội vụ", block="K1"),
        data.unit_event("P3", pa, name="Sở Tài chính", block="K2"),
        data.unit_event("P4", pa, name="Sở đã giải thể", active=False),
        data.unit_event("D1", di, name="UBND thành phố Tuyên Quang"),
        data.unit_event("D2", di, name="UBND huyện Sơn Dương"),
        data.unit_event("D3", di, name="UBND huyện Na Hang", when="2025-01-01T00:00:00"),
        *(
            data.unit_event(d, di, name=name, active=False, successor="X1", when=when)
            for d, name, when in (
                ("D1", "UBND thành phố Tuyên Quang", "2026-01-01T00:00:00"),
                ("D2", "UBND huyện Sơn Dương", "2026-01-01T00:00:00"),
                ("D3", "UBND huyện Na Hang", "2025-07-01T00:00:00"),
            )
        ),
        data.unit_event("X1", co, name="UBND xã An Tường"),
        data.unit_event("E1", en, name="Công ty CP Viễn thông Tuyên Quang"),
        data.unit_event("E2", en, name="HTX Chè Mỹ Bằng"),
    )
    ids = [c.id for c in config.for_tier(pa)]
    rows = (
        data.marks(config, "P1", pa, BASE_DAY)
        + data.marks(config, "P2", pa, BASE_DAY, ratios={"C03": 0.6})
        + data.marks(config, "P3", pa, BASE_DAY, skip=tuple(ids[::2]))
        + data.marks(config, "P4", pa, BASE_DAY)
        + data.marks(config, "D1", di, BASE_DAY)
        + data.marks(config, "D2", di, BASE_DAY, ratios={"C13": 0.5})
        + data.marks(config, "D3", di, BASE_DAY)
        + data.marks(config, "X1", co, BASE_DAY)
        + data.marks(config, "E1", en, BASE_DAY)
        + data.marks(config, "E2", en, BASE_DAY, ratios={"E02": 0.0})
    )
    data.insert_counters(client, rows)


def make_app(ch: Client, **settings: object) -> FastAPI:
    settings.setdefault("api_write_tokens", [WRITE_TOKEN])
    return create_app(
        ApiSettings(clickhouse_dsn="chdb:///unused", writer_embedded=False, **settings),  # type: ignore[arg-type]
        ch,
        warm=False,
    )


@pytest.fixture
def app(ch: Client) -> FastAPI:
    return make_app(ch)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """Reads are open; every request carries the write token (writes need one)."""
    with TestClient(app, headers=WRITE) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app on a real uvicorn socket, in a thread of this process (it shares the chDB)."""

    def __init__(self, app: FastAPI, lifespan: str = "auto") -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
            lifespan=lifespan,  # type: ignore[arg-type]
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def screenshots_dir() -> Path:
    path = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


README_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep_screenshot(
    page: Any, name: str, selector: str | None = None, scale: float = 0.5, height: int = 0
) -> Path:
    """The test's artefact in var/screenshots (ignored by git); with
    THIDUA_README_SCREENSHOTS=1 also a small copy in docs/screenshots, shown in the README."""
    shot: Path = page.screenshot(screenshots_dir() / f"{name}.png", selector)
    if os.environ.get("THIDUA_README_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(README_SHOTS / f"{name}.png", selector, scale, height)
    return shot
