"""One province's dossiers sent once as CloudEvents and once as the national portal's
DongBoHoSoMC payloads: through the real ingest and broker into chDB, the 2025 rankings (C03
and everything else) are identical."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client
from starlette.testclient import TestClient

from services.ingest.app import create_app
from tests.ingest.conftest import BATCH, DVC, REGISTRY, consume
from tests.store.builders import insert_events
from thidua.contracts.events import CanonicalEvent
from thidua.contracts.periods import parse_period
from thidua.contracts.plans import default_plans
from thidua.settings import IngestSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate
from thidua.store.recompute import recompute_period

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
ORGANS = {"U1": "000.00.21.H56", "U2": "000.00.22.H56", "U3": "000.00.23.H56"}
# (procedure, MucDo, NgayCapNhat): PL becomes full-online on 2025-06-01.
PROCEDURES = [
    ("PF", 4, "20250101000000"),
    ("PP", 3, "20250101000000"),
    ("PL", 3, "20250101000000"),
    ("PL", 4, "20250601000000"),
]
# (MaHoSo, unit, procedure, KenhThucHien, TrangThaiHoSo, NgayTiepNhan, CloudEvents channel)
DOSSIERS = [
    ("D1", "U1", "PF", 2, 9, "20250301080000", "online_full"),
    ("D2", "U1", "PF", 2, 10, "20250302080000", "online_full"),
    ("D3", "U1", "PF", 2, 4, "20250303080000", "online_full"),
    ("D4", "U1", "PF", 1, 4, "20250304080000", "direct"),
    ("D5", "U2", "PL", 2, 9, "20250310080000", "online_partial"),  # before PL was full
    ("D6", "U2", "PL", 2, 9, "20250311080000", "online_partial"),
    ("D7", "U2", "PL", 2, 9, "20250701080000", "online_full"),
    ("D8", "U2", "PP", 3, 9, "20250702080000", "postal"),
    ("D9", "U3", "PF", 2, 2, "20250401080000", "online_full"),
    ("D10", "U3", "PP", 2, 2, "20250402080000", "online_partial"),
    ("D11", "U3", "PF", 2, 1, "", None),  # mới đăng ký: never received
    ("D12", "U3", "PF", 2, 3, "20250403080000", None),  # không được tiếp nhận
    ("D13", "U3", "PF", 2, 9, "20241231080000", "online_full"),  # 2024: outside 2025
]
# isUpdating: D9 corrected to a direct dossier (a new version of the same dossier).
UPDATE = ("D9", "U3", "PF", 1, 4, "20250401080000", "direct")


def _ce(number: str, event_type: str, time: str, data: dict[str, Any]) -> dict[str, Any]:
    # each token sends only as its own sources (issue 14): the registry's, the portal's
    source = "/registry/test" if event_type.startswith("vn.thidua.unit.") else "/dvc/test"
    return {"specversion": "1.0", "id": number, "source": source, "type": event_type,
            "time": time, "data": data}  # fmt: skip


def _rfc3339(stamp: str) -> str:
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}+07:00"


def _units() -> list[dict[str, Any]]:
    return [
        _ce(
            f"unit-{u}",
            "vn.thidua.unit.upserted",
            "2024-01-01T00:00:00+07:00",
            {
                "unit_id": u,
                "name": f"Sở {u}",
                "tier": "province_agency",
                "organ_ids": [organ],
                "active": True,
            },
        )  # fmt: skip
        for u, organ in ORGANS.items()
    ]


def _portal_item(row: tuple[Any, ...]) -> dict[str, Any]:
    number, unit, procedure, kenh, status, received, _ = row
    return {"MaHoSo": number, "MaTTHC": procedure, "KenhThucHien": str(kenh),
            "TrangThaiHoSo": str(status), "NgayTiepNhan": received,
            "DonViXuLy": ORGANS[unit]}  # fmt: skip


def _cloudevents_dossier(row: tuple[Any, ...], version: int) -> dict[str, Any]:
    number, unit, procedure, _, _, received, channel = row
    return _ce(f"{number}-v{version}", "vn.thidua.dvc.dossier.received", _rfc3339(received),
               {"dossier_id": number, "unit_id": unit, "procedure_id": procedure,
                "channel": channel})  # fmt: skip


def _send_cloudevents(client: TestClient) -> None:
    procedures = [
        _ce(
            f"{p}-{level}",
            "vn.thidua.dvc.procedure.upserted",
            _rfc3339(stamp),
            {
                "procedure_id": p,
                "unit_id": "U1",
                "full_online_eligible": True,
                "full_online": level == 4,
                "mobile": False,
            },
        )  # fmt: skip
        for p, level, stamp in PROCEDURES
    ]
    dossiers = [_cloudevents_dossier(row, 1) for row in DOSSIERS if row[-1] is not None]
    for batch in (procedures, dossiers, [_cloudevents_dossier(UPDATE, 2)]):
        r = client.post("/v1/events", content=orjson.dumps(batch), headers={**DVC, **BATCH})
        assert r.status_code == 202, r.text


def _send_portal(client: TestClient) -> None:
    catalogue = [{"MaTTHC": p, "MucDo": str(level), "MaCoQuan": ORGANS["U1"],
                  "NgayCapNhat": stamp} for p, level, stamp in PROCEDURES]  # fmt: skip
    r = client.post("/v1/dvcqg/procedures", content=orjson.dumps(catalogue),
                    headers={**DVC, **JSON})  # fmt: skip
    assert r.status_code == 202, r.text
    for updating, items in (("False", DOSSIERS), ("True", [UPDATE])):
        body = {"service": "DongBoHoSoMC", "isUpdating": updating,
                "data": [_portal_item(row) for row in items]}  # fmt: skip
        r = client.post("/v1/dvcqg/dossiers", content=orjson.dumps(body), headers={**DVC, **JSON})
        assert r.status_code == 202, r.text
        if updating == "False":
            assert r.json()["ignored"] == 2


@pytest.fixture
def chdb(chdb_dsn: str) -> Iterator[Client]:
    client = get_client(chdb_dsn)
    migrate(client, progress=lambda _: None)
    yield client
    client.close()


def _rankings(
    chdb: Client,
    settings_for: Callable[..., IngestSettings],
    kafka_bootstrap: str,
    prefix: str,
    send: Callable[[TestClient], None],
) -> list[tuple[Any, ...]]:
    settings = settings_for(topic_prefix=prefix, ingest_registry_wait_seconds=5)
    with TestClient(create_app(settings)) as client:
        r = client.post("/v1/events", content=orjson.dumps(_units()), headers={**REGISTRY, **BATCH})
        assert r.status_code == 202, r.text
        send(client)
    records = consume(kafka_bootstrap, f"{prefix}events-registry", len(ORGANS))
    expected = len(PROCEDURES) + sum(1 for row in DOSSIERS if row[-1]) + 1
    records += consume(kafka_bootstrap, f"{prefix}events-dvc", expected)
    assert len(records) == len(ORGANS) + expected
    chdb.command("TRUNCATE TABLE events_raw")
    insert_events(chdb, *(CanonicalEvent.from_bytes(r.value) for r in records))
    cards = recompute_period(chdb, default_plans(), parse_period("2025"))
    ranking = []
    for card in sorted(cards, key=lambda c: (c.rank or 0, c.unit.unit_id)):
        c03 = next(c for c in card.criteria if c.id == "C03")
        ranking.append((card.rank, card.unit.unit_id, round(card.score, 6),
                        c03.numerator, c03.denominator, c03.value))  # fmt: skip
    return ranking


def test_same_c03_rankings_from_cloudevents_and_dvcqg(
    chdb: Client,
    settings_for: Callable[..., IngestSettings],
    kafka_bootstrap: str,
    topic_prefix: str,
) -> None:
    args = (chdb, settings_for, kafka_bootstrap)
    from_cloudevents = _rankings(*args, f"{topic_prefix}ce-", _send_cloudevents)
    from_portal = _rankings(*args, f"{topic_prefix}qg-", _send_portal)
    assert from_portal == from_cloudevents
    c03 = {unit: (num, den) for _, unit, _, num, den, _ in from_portal}
    assert c03 == {"U1": (3, 4), "U2": (1, 4), "U3": (0, 2)}
    assert [unit for _, unit, *_ in from_portal] == ["U1", "U2", "U3"]
