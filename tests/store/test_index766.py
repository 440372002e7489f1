""" "Chỉ số 766 (tham khảo)": the scorecard's index_766 block, from the streaming counters and
from the batch recompute alike, and never part of the score."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from services.api.schemas import ScorecardOut
from services.api.views import PeriodView
from services.scoring.processors import fold
from tests.store.builders import event, insert_counters, insert_events, unit
from thidua.contracts.events import CanonicalEvent, EventType
from thidua.contracts.periods import parse_period
from thidua.contracts.plans import default_plans
from thidua.store import kpi
from thidua.store.recompute import compare_report, recompute_period


def dossier(did: str, when: str, unit_id: str = "P", **fields: Any) -> CanonicalEvent:
    data = {"dossier_id": did, "unit_id": unit_id, "procedure_id": "PR1", "channel": "direct"}
    return event(EventType.DOSSIER_RECEIVED, when, {**data, **fields})


def events() -> list[CanonicalEvent]:
    return [
        unit("P", "2024-06-01"),
        unit("Q", "2024-06-01"),
        dossier("D1", "2025-03-01", on_time=True, digitised=True, paid_online=True),
        dossier("D2", "2025-03-02", on_time=False, digitised=False, paid_online=False),
        dossier("D3", "2025-03-03", on_time=True, digitised=True),  # no fee due
        dossier("D4", "2025-03-04"),  # a plain CloudEvents dossier: in no 766 rate
        # a correction: the later version (on time) replaces the late one
        dossier("D5", "2025-04-01", on_time=False, digitised=False),
        dossier("D5", "2025-04-01", on_time=True, digitised=False),
        # a correction dropping the fields: the dossier leaves the rates
        dossier("D6", "2025-05-01", on_time=True),
        dossier("D6", "2025-05-02"),
        dossier("D7", "2024-12-01", on_time=True),  # 2024
        dossier("D8", "2025-06-01", unit_id="Q"),
    ]


def rates(card: Any) -> dict[str, tuple[float, float]]:
    block = card._extra["index_766"]
    return {r: (block[r]["numerator"], block[r]["denominator"]) for r in block if r in (
        "on_time", "digitised", "paid_online")}  # fmt: skip


def test_index_766_from_batch_and_stream(client: Client) -> None:
    raw = events()
    insert_events(client, *raw)
    counters = fold(raw, indicator_ids=default_plans().indicator_ids())
    insert_counters(client, *((u, m, d, float(v)) for (u, m, d), v in counters.items()))
    config = default_plans()
    period = parse_period("2025")
    batch = kpi.scorecards_by_unit(recompute_period(client, config, period))
    streaming = kpi.scorecards_by_unit(kpi.compute_period(client, config, period))
    expected = {"on_time": (3, 4), "digitised": (2, 4), "paid_online": (1, 2)}
    assert rates(batch["P"]) == rates(streaming["P"]) == expected
    assert rates(streaming["Q"]) == {"on_time": (0, 0), "digitised": (0, 0), "paid_online": (0, 0)}
    assert streaming["P"]._extra["index_766"]["on_time"]["value"] == 0.75
    assert streaming["Q"]._extra["index_766"]["on_time"]["value"] is None
    # never scored: C03 and the score see four direct dossiers of P, fields or not
    c03 = next(c for c in streaming["P"].criteria if c.id == "C03")
    assert (c03.numerator, c03.denominator) == (0, 6)
    periods = [parse_period(p) for p in ("2024", "2025", "2025-Q2")]
    assert all(diffs == [] for _, diffs in compare_report(client, config, periods).values())

    plan = config.for_period(period)
    view = PeriodView.build(
        period, plan, list(streaming.values()), datetime(2026, 1, 1, tzinfo=UTC)
    )
    answer = ScorecardOut.model_validate(view.scorecard("P"))
    assert answer.index_766 is not None and answer.index_766.label == "Chỉ số 766 (tham khảo)"
    assert answer.index_766.digitised.value == 0.5 and answer.index_766.scored is False


def test_a_wrong_766_counter_is_reported(client: Client) -> None:
    raw = events()
    insert_events(client, *raw)
    counters = fold(raw, indicator_ids=default_plans().indicator_ids())
    insert_counters(client, *((u, m, d, float(v)) for (u, m, d), v in counters.items()))
    insert_counters(client, ("P", "dossier_766_on_time", "2025-03-01", 1), partition=9)
    [(_, diffs)] = compare_report(client, default_plans(), [parse_period("2025")]).values()
    assert [(d.unit_id, d.field) for d in diffs] == [("P", "766.on_time.numerator")]
