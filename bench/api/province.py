"""A synthetic province of N units for the api benchmark, written into chDB the way the writer
writes it (canonical unit events into ``events_raw``, per-day counters into ``kpi_counters``)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from services.writer.rows import EVENTS_RAW, KPI_COUNTERS, event_row
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import CanonicalEvent, EventType, Tier
from thidua.contracts.periods import LOCAL_TZ

# Shares of each tier among the units (Tuyên Quang has ~124 communes; the benchmark scales up).
TIER_SHARES = ((Tier.PROVINCE_AGENCY, 0.10), (Tier.DISTRICT, 0.05), (Tier.COMMUNE, 0.75))


def tiers_for(count: int) -> list[Tier]:
    tiers: list[Tier] = []
    for tier, share in TIER_SHARES:
        tiers += [tier] * int(count * share)
    return tiers + [Tier.ENTERPRISE] * (count - len(tiers))


def fill(client: Client, config: CriteriaConfig, units: int, seed: int = 154) -> None:
    rng = random.Random(seed)
    events: list[CanonicalEvent] = []
    counters: list[list[Any]] = []
    start = datetime(2021, 1, 1, 8, tzinfo=LOCAL_TZ)
    days = [date(2025, 1, 6) + timedelta(days=7 * i) for i in range(40)]
    for index, tier in enumerate(tiers_for(units)):
        unit_id = f"{tier.value[:3]}-{index:04d}"
        data: dict[str, Any] = {
            "unit_id": unit_id,
            "name": f"Đơn vị thử nghiệm số {index}",
            "tier": tier.value,
            "active": index % 97 != 0,
            "block": f"Khối {index % 8 + 1}",
            "parent_id": None,
            "organ_ids": [],
            "successor_id": None,
        }
        events.append(
            CanonicalEvent(source="bench", id=unit_id, type=EventType.UNIT_UPSERTED, time=start,
                           seq=index + 1, data=data)
        )  # fmt: skip
        # criteria may share a measure (C01's numerator is C02's denominator): one value each
        values: dict[str, tuple[date, float]] = {}
        for criterion in config.for_tier(tier):
            num, den = criterion.measures(tier)
            day = rng.choice(days)
            total = 1.0 if criterion.boolean else float(rng.randint(20, 400))
            total = values.setdefault(den, (day, total))[1]
            share = float(rng.random() < 0.7) if criterion.boolean else rng.random()
            values.setdefault(num, (day, float(round(total * share))))
        counters += [[unit_id, m, day, 0, value, 1] for m, (day, value) in values.items()]
    client.insert(
        EVENTS_RAW.table, [event_row(e) for e in events], column_names=list(EVENTS_RAW.columns)
    )
    client.insert(KPI_COUNTERS.table, counters, column_names=list(KPI_COUNTERS.columns))
