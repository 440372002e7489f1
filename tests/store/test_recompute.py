"""The batch recompute from hand-written raw events (SPEC §3), and its comparison with the
streaming path (the scoring processors' counters → kpi_counters → compute_period)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from services.scoring.processors import fold
from tests.store.builders import event, insert_counters, insert_events, unit
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.periods import parse_period
from thidua.contracts.plans import default_plans
from thidua.contracts.scorecard import Scorecard
from thidua.store import kpi
from thidua.store.recompute import compare, compare_report, recompute_period
from tools.recompute import run

E = EventType


def staff(sid: str, unit_id: str, when: str, category: str = "civil_servant", *,
          digital_id: bool = True, active: bool = True) -> CanonicalEvent:  # fmt: skip
    data = {"staff_id": sid, "unit_id": unit_id, "category": category,
            "digital_id": digital_id, "active": active}  # fmt: skip
    return event(E.STAFF_UPSERTED, when, data)


def trained(sid: str, program: str, when: str) -> CanonicalEvent:
    return event(E.TRAINING_COMPLETED, when, {"staff_id": sid, "program": program})


def procedure(pid: str, when: str, eligible: bool, full: bool, mobile: bool) -> CanonicalEvent:
    data = {"procedure_id": pid, "unit_id": "P", "full_online_eligible": eligible,
            "full_online": full, "mobile": mobile}  # fmt: skip
    return event(E.PROCEDURE_UPSERTED, when, data)


def dossier(did: str, when: str, channel: str, **kw: Any) -> CanonicalEvent:
    data = {"dossier_id": did, "unit_id": "P", "procedure_id": "PR1", "channel": channel}
    return event(E.DOSSIER_RECEIVED, when, data, **kw)


def indicator(unit_id: str, criterion: str, when: str, num: float, den: float) -> CanonicalEvent:
    data = {"unit_id": unit_id, "indicator": criterion, "numerator": num, "denominator": den}
    return event(E.INDICATOR_OBSERVED, when, data)


def flag_event(type_: EventType, key: str, key_value: str, unit_id: str, when: str,
               **flags: bool) -> CanonicalEvent:  # fmt: skip
    unit_field = "from_unit" if type_ is E.DOCUMENT_SENT else "unit_id"
    data: dict[str, Any] = {key: key_value, unit_field: unit_id, **flags}
    if type_ is E.DOCUMENT_SENT:
        data["to_units"] = ["D"]
    return event(type_, when, data)


def workfile(wid: str, unit_id: str, *, online: bool, signed: bool, secret: bool) -> CanonicalEvent:
    return flag_event(E.WORKFILE_CLOSED, "workfile_id", wid, unit_id, "2025-02-01",
                      online=online, digitally_signed=signed, secret=secret)  # fmt: skip


def report(rid: str, **flags: bool) -> CanonicalEvent:
    return flag_event(E.REPORT_SUBMITTED, "report_id", rid, "P", "2025-02-01", **flags)


def province() -> list[CanonicalEvent]:
    return [
        unit("P", "2024-06-01", block="K1"),
        unit("D", "2024-06-01", tier="district"),
        unit("C", "2024-06-01", tier="commune"),
        unit("ENT", "2024-06-01", tier="enterprise"),
        unit("LATE", "2026-01-01 00:00"),  # registered exactly at 2025's end: not in 2025
        # C01/C02: PR4 becomes full-online exactly at 2026's first instant.
        procedure("PR1", "2025-03-01", True, True, True),
        procedure("PR2", "2025-03-01", True, True, False),
        procedure("PR3", "2025-03-01", False, True, True),
        procedure("PR4", "2025-03-01", True, False, False),
        procedure("PR4", "2026-01-01 00:00", True, True, False),
        # C03: boundaries at local midnight, corrections, equal-time order, resends.
        dossier("D1", "2025-12-31 23:59:59.999999", "online_full"),
        dossier("D2", "2025-12-31T17:00:00+00:00", "direct"),  # 2026-01-01 00:00 local
        dossier("D3", "2024-12-31T17:00:00+00:00", "online_full"),  # 2025-01-01 00:00 local
        dossier("D4", "2025-05-01", "online_full"),
        dossier("D4", "2025-06-01", "direct"),  # correction: counted once, as direct
        dossier("D5", "2025-11-01", "online_full"),
        dossier("D5", "2026-02-01", "online_full"),  # the winner moves D5 to 2026
        dossier("D6", "2025-07-01 09:00", "postal", seq=5_000_001),
        dossier("D6", "2025-07-01 09:00", "online_full", seq=5_000_000),  # accepted first: loses
        dossier("D7", "2025-04-01", "online_full", id="x", source="dvc"),
        dossier("D7", "2025-04-02", "direct", id="x", source="dvc"),  # resend: no effect
        # C05
        flag_event(E.DOSSIER_RATED, "dossier_id", "D1", "P", "2025-02-01", satisfied=True),
        flag_event(E.DOSSIER_RATED, "dossier_id", "D3", "P", "2025-02-01", satisfied=False),
        flag_event(E.DOSSIER_RATED, "dossier_id", "D9", "C", "2025-02-01", satisfied=True),
        # C11: confidential documents are in neither side.
        flag_event(E.DOCUMENT_SENT, "document_id", "V1", "P", "2025-02-01",
                   electronic=True, digitally_signed=True, confidential=False),
        flag_event(E.DOCUMENT_SENT, "document_id", "V2", "P", "2025-02-01",
                   electronic=True, digitally_signed=True, confidential=True),
        flag_event(E.DOCUMENT_SENT, "document_id", "V3", "P", "2025-02-01",
                   electronic=True, digitally_signed=False, confidential=False),
        # C13: province counts online, district online ∧ signed; secret files in neither.
        workfile("W1", "P", online=True, signed=True, secret=False),
        workfile("W2", "P", online=True, signed=False, secret=False),
        workfile("W3", "P", online=True, signed=True, secret=True),
        workfile("W4", "P", online=False, signed=False, secret=False),
        workfile("W5", "D", online=True, signed=True, secret=False),
        workfile("W6", "D", online=True, signed=False, secret=False),
        # C12, C14
        report("B1", via_shared_system=True),
        report("B2", via_shared_system=False),
        flag_event(E.INSPECTION_COMPLETED, "inspection_id", "I1", "P", "2025-02-01", digital=True),
        # C04, C15, C16: training before registration, moves, workers, later deactivation.
        trained("S2", "basic_digital_skills", "2024-02-01"),
        staff("S1", "P", "2024-06-01"),
        trained("S1", "basic_digital_skills", "2024-07-01"),
        trained("S1", "basic_digital_skills", "2024-08-01"),  # twice: counts once
        trained("S1", "data_analytics", "2026-01-01 00:00"),  # too late for 2025
        staff("S2", "D", "2024-01-01", "public_employee"),
        staff("S2", "P", "2025-03-01", "public_employee"),  # trained while at D: counts at P
        staff("S3", "P", "2024-06-01", "worker"),
        staff("S4", "P", "2024-06-01", digital_id=False),
        staff("S4", "P", "2026-03-01", digital_id=False, active=False),
        staff("S5", "P", "2024-06-01"),
        staff("S5", "D", "2025-06-01"),
        # indicators: corrections, a criterion outside the tier (ignored), enterprises.
        indicator("P", "C06", "2025-01-10", 1, 1),
        indicator("P", "C07", "2025-01-10", 0, 1),
        indicator("P", "C08", "2025-01-10", 3, 4),
        indicator("P", "C08", "2026-01-10", 4, 4),
        indicator("P", "C09", "2025-01-10", 0.5, 1),
        indicator("P", "C09", "2025-03-10", 0.7, 1),
        indicator("C", "C06", "2025-01-10", 1, 1),
        indicator("C", "C17", "2025-01-10", 9, 10),
        indicator("ENT", "E01", "2025-01-10", 1, 1),
        indicator("ENT", "E02", "2025-01-10", 1, 1),
    ]  # fmt: skip


def values(card: Scorecard) -> dict[str, tuple[float, float]]:
    return {r.id: (r.numerator, r.denominator) for r in card.criteria}


def test_recompute_follows_the_rules_for_every_criterion(client: Client) -> None:
    insert_events(client, *province())
    config = default_plans()
    cards = kpi.scorecards_by_unit(recompute_period(client, config, parse_period("2025")))
    assert set(cards) == {"P", "D", "C", "ENT"}
    assert values(cards["P"]) == {
        "C01": (2, 3), "C02": (1, 2), "C03": (3, 5), "C04": (1, 2), "C05": (1, 2),
        "C06": (1, 1), "C07": (0, 1), "C08": (3, 4), "C09": (0.7, 1), "C10": (0, 0),
        "C11": (1, 2), "C12": (1, 2), "C13": (2, 3), "C14": (1, 1), "C15": (2, 3),
        "C16": (0, 3),
    }  # fmt: skip
    assert cards["P"].no_data == ("C10",)
    district = values(cards["D"])
    assert district["C13"] == (1, 2) and district["C04"] == (1, 1)
    assert values(cards["C"])["C17"] == (9, 10) and "C06" not in values(cards["C"])
    assert cards["ENT"].award_eligible and cards["ENT"].score == 100.0

    later = kpi.scorecards_by_unit(recompute_period(client, config, parse_period("2026")))
    assert values(later["P"])["C01"] == (3, 3) and values(later["P"])["C08"] == (4, 4)
    assert values(later["P"])["C03"] == (1, 2)  # D2 (direct) at 00:00 local, D5's winner
    assert values(later["P"])["C16"] == (1, 2)  # S4 inactive; S1 trained at 2026's start
    assert later["LATE"].no_data
    q1 = kpi.scorecards_by_unit(recompute_period(client, config, parse_period("2025-Q1")))
    assert values(q1["P"])["C03"] == (1, 1)  # only D3, at 2025-01-01 00:00 local


PERIODS = ("2024", "2025", "2026", "2025-Q1", "2025-Q4", "2026-Q1", "phase-2021-2025")


def stream_counters(client: Client, events: list[CanonicalEvent]) -> None:
    """What the scoring workers publish, computed by their pure processors."""
    counters = fold(events, indicator_ids=default_plans().indicator_ids())
    insert_counters(client, *((u, m, d, float(v)) for (u, m, d), v in counters.items()))


def test_streaming_and_batch_agree(client: Client) -> None:
    events = province()
    insert_events(client, *events)
    stream_counters(client, events)
    report = compare_report(client, default_plans(), [parse_period(p) for p in PERIODS])
    assert {p: (n, d) for p, (n, d) in report.items()} == {
        "2024": (4, []), "2025": (4, []), "2026": (5, []), "2025-Q1": (4, []),
        "2025-Q4": (4, []), "2026-Q1": (5, []), "phase-2021-2025": (4, []),
    }  # fmt: skip


def test_a_wrong_counter_is_reported(client: Client) -> None:
    events = province()
    insert_events(client, *events)
    stream_counters(client, events)
    insert_counters(client, ("P", "rating", "2025-02-01", 5), partition=9)
    report = compare_report(client, default_plans(), [parse_period("2025"), parse_period("2024")])
    fields = {(d.unit_id, d.field) for d in report["2025"][1]}
    assert {("P", "C05.denominator"), ("P", "C05.value"), ("P", "score")} <= fields
    assert report["2024"][1] == []
    assert {d.period for d in compare(client, default_plans(), [parse_period("2025")])} == {"2025"}


def test_cli_exit_code(client: Client, chdb_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    events = province()
    insert_events(client, *events)
    stream_counters(client, events)
    monkeypatch.setenv("THIDUA_CLICKHOUSE_DSN", chdb_dsn)
    with pytest.raises(SystemExit) as ok:
        run()
    assert ok.value.code == 0
    insert_counters(client, ("P", "procedure_eligible", "2021-02-01", 1), partition=9)
    with pytest.raises(SystemExit) as bad:
        run()
    assert bad.value.code == 1


def test_cli_finds_the_store_of_thidua_up_and_refuses_to_compare_nothing(
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without THIDUA_CLICKHOUSE_DSN it reads ``$THIDUA_VAR_DIR/chdb`` (where ``thidua up``
    keeps it); an empty store compares 0 units: an error, not a pass."""
    monkeypatch.delenv("THIDUA_CLICKHOUSE_DSN", raising=False)
    monkeypatch.setenv("THIDUA_VAR_DIR", str(tmp_path / "var"))
    (tmp_path / "var" / "chdb").mkdir(parents=True)
    client.close()  # one chDB path per process: the test's store is closed while run() reads
    with pytest.raises(SystemExit) as empty:
        run()
    assert empty.value.code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "var" / "chdb") in err and "no unit to compare" in err


def _api(client: Client, **settings: object) -> Any:
    from services.api.app import create_app
    from thidua.settings import ApiSettings

    return create_app(
        ApiSettings(clickhouse_dsn="chdb:///unused", writer_embedded=False, **settings),  # type: ignore[arg-type]
        client,
        warm=False,
    )


def test_the_api_recomputes_on_its_engine(client: Client) -> None:
    """Embedded mode: the api owns the chDB path, so it runs the comparison itself."""
    from fastapi.testclient import TestClient

    events = province()
    insert_events(client, *events)
    stream_counters(client, events)
    token = "recompute-token-0123456789"
    with TestClient(_api(client, api_write_tokens=[token])) as http:
        assert http.post("/v1/recompute").status_code == 401
        agreed = http.post("/v1/recompute", headers={"authorization": f"Bearer {token}"})
        assert agreed.status_code == 200, agreed.text
        doc = agreed.json()
        assert doc["differences"] == 0
        periods = {p["period"]: p for p in doc["periods"]}
        assert {"2025", "2025-Q1", "phase-2021-2025", "rolling-30d"} <= periods.keys()
        assert periods["2025"]["units"] == 4
        insert_counters(client, ("P", "rating", "2025-02-01", 5), partition=9)
        doc = http.post("/v1/recompute", headers={"authorization": f"Bearer {token}"}).json()
    fields = {(d["unit_id"], d["field"]) for p in doc["periods"] for d in p["differences"]}
    assert ("P", "C05.denominator") in fields
    assert doc["differences"] == sum(len(p["differences"]) for p in doc["periods"]) > 0


def test_cli_asks_the_api_when_it_owns_the_engine(client: Client, chdb_dsn: str) -> None:
    """`thidua recompute` in another process cannot open the api's chDB path: it asks the api
    (with the api's first write token) and prints and exits as it would have."""
    import os
    import subprocess
    import sys

    from tests.api.conftest import LiveServer

    events = province()
    insert_events(client, *events)
    stream_counters(client, events)
    token = "recompute-token-0123456789"
    with LiveServer(_api(client, api_write_tokens=[token])) as live:
        env = {
            **os.environ,
            "THIDUA_CLICKHOUSE_DSN": chdb_dsn,
            "THIDUA_API_PORT": str(live.port),
            "THIDUA_API_WRITE_TOKENS": f'["{token}"]',
        }
        command = [sys.executable, "-m", "tools.cli", "recompute"]
        agreed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
        assert agreed.returncode == 0, agreed.stdout + agreed.stderr
        assert "asking the api" in agreed.stderr
        assert "total: 0 difference(s)" in agreed.stdout
        insert_counters(client, ("P", "procedure_eligible", "2021-02-01", 1), partition=9)
        differ = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
        assert differ.returncode == 1, differ.stdout + differ.stderr
        assert "P C01.numerator" in differ.stdout or "P score" in differ.stdout
        env["THIDUA_API_WRITE_TOKENS"] = '["not-the-api-token-0123456789"]'
        refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
        assert refused.returncode == 2
        assert "the api said 403" in refused.stderr
