"""The dashboard in headless Chromium: it shows a ranking and follows a change live (SSE)."""

from __future__ import annotations

from datetime import date

import pytest
from clickhouse_connect.driver.client import Client

from tests.api import data
from tests.api.browser import DashboardPage, chromium_binary
from tests.api.conftest import LiveServer, screenshots_dir
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier

pytestmark = pytest.mark.skipif(chromium_binary() is None, reason="Debian chromium not installed")


def test_dashboard_shows_the_ranking_and_follows_it_live(
    live: LiveServer, ch: Client, config: CriteriaConfig
) -> None:
    all_missing = ", ".join(c.id for c in config.for_tier(Tier.DISTRICT))
    url = f"{live.url}/dashboard?tier=district&period=2024-Q3"
    with DashboardPage(url) as page:
        before = page.wait_for_ranking()
        assert before.splitlines() == [
            "1 | UBND thành phố Tuyên Quang | 0,00 | 0/17 | " + all_missing,
            "1 | UBND huyện Sơn Dương | 0,00 | 0/17 | " + all_missing,
        ]
        assert page.evaluate("document.getElementById('tier').selectedOptions[0].text") == (
            "UBND huyện, thành phố"
        )
        assert page.evaluate("document.querySelector('h2').innerText").startswith("Bảng xếp hạng")
        updates = page.updates()

        # satisfied ratings for the district of Sơn Dương land in 2024-Q3 …
        data.insert_counters(
            ch,
            [
                ("D2", "rating", date(2024, 8, 1), 5.0),
                ("D2", "rating_satisfied", date(2024, 8, 1), 5.0),
            ],
        )
        live.app.state.on_refresh({"2024-Q3", "2024", "phase-2021-2025"})

        # … and the page changes without a reload
        page.wait_for(f"Number(document.body.dataset.updates || 0) > {updates}")
        page.wait_for("document.querySelector('#ranking tbody tr').dataset.unit === 'D2'")
        after = page.ranking_text().splitlines()
        assert after[0].startswith("1 | UBND huyện Sơn Dương | 5,88 | 1/17")
        assert after[1].startswith("2 | UBND thành phố Tuyên Quang | 0,00 | 0/17")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

        # the scorecard panel: bars against targets and what is missing for the award
        page.evaluate("document.querySelector('#ranking tbody tr').click()")
        page.wait_for("document.querySelector('#card .missing') !== null")
        card = page.evaluate("document.getElementById('card').innerText")
        assert "Còn thiếu để được khen thưởng" in card and "Người dân, DN hài lòng" in card
        page.wait_for("document.querySelector('#trend svg path') !== null")
        shot = page.screenshot(screenshots_dir() / "dashboard-live.png")
        assert page.console == []  # no script error, nothing blocked by the CSP
    assert shot.stat().st_size > 10_000


def test_dashboard_over_time_closed_units_provisional_plan(live: LiveServer) -> None:
    """SPEC §7: 2025 ranks the district closed on 2025-07-01, marked with its successor;
    2026 is tạm tính under the provisional plan, and has no district tier any more."""
    with DashboardPage(f"{live.url}/dashboard?tier=district&period=2025") as page:
        rows = page.wait_for_ranking().splitlines()
        assert any("UBND huyện Na Hang đã đóng 1/7/2025 → UBND xã An Tường" in r for r in rows)
        assert page.evaluate("document.getElementById('plan').hidden")  # 2025: final
        tiers = page.evaluate("[...document.getElementById('tier').options].map(o => o.value)")
        assert "district" in tiers
        page.screenshot(screenshots_dir() / "dashboard-2025-closed-districts.png")

        page.evaluate(
            "(() => { const s = document.getElementById('period'); s.value = '2026';"
            " s.dispatchEvent(new Event('change')); })()"
        )
        page.wait_for("document.getElementById('plan').dataset.plan === 'phase-2026-2030'")
        plan = page.evaluate("document.getElementById('plan').innerText")
        assert "Tạm tính" in plan
        assert "Tạm áp dụng chỉ tiêu năm 2025 cho đến khi có chỉ tiêu giai đoạn 2" in plan
        tiers = page.evaluate("[...document.getElementById('tier').options].map(o => o.value)")
        assert "district" not in tiers and "commune" in tiers
        label = page.evaluate("document.getElementById('period').selectedOptions[0].text")
        assert label == "Năm 2026 (tạm tính)"
        shot = page.screenshot(screenshots_dir() / "dashboard-2026-provisional.png")
        assert page.console == []
    assert shot.stat().st_size > 10_000
