"""The kpi-results message the writer publishes is the one notify reads."""

from __future__ import annotations

import orjson

from services.notify.observations import Scorecard as Observed
from thidua.contracts.events import Tier
from thidua.contracts.plans import default_plans
from thidua.contracts.results import result_message
from thidua.contracts.scorecard import UnitInfo, build_scorecard, rank_scorecards

from .helpers import T0


def test_round_trip() -> None:
    unit = UnitInfo("tq-xa-02269", "UBND xã Thượng Lâm", Tier.COMMUNE, True)
    measures = {"workfile_online": 4, "workfile_non_secret": 10, "rating": 0}
    (card,) = rank_scorecards(
        [build_scorecard(default_plans().plans[0], unit, "rolling-30d", measures, False)]
    )
    key, value = result_message(card, T0, last_event_at=T0)
    assert key == b"rolling-30d|tq-xa-02269"
    observed = Observed.from_json(orjson.loads(value))
    assert observed.rank == 1 and observed.tier == "commune" and observed.computed_at == T0
    c13 = next(c for c in observed.criteria if c.id == "C13")
    assert (c13.value, c13.numerator, c13.denominator, c13.target) == (0.4, 4, 10, 0.6)
    c05 = next(c for c in observed.criteria if c.id == "C05")
    assert c05.value is None
