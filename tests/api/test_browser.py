"""The dashboard in headless Chromium: it shows a ranking and follows a change live (SSE)."""

from __future__ import annotations

import time
from datetime import date

import pytest
from clickhouse_connect.driver.client import Client

from tests.api import data
from tests.api.browser import DashboardPage, chromium_binary
from tests.api.conftest import LiveServer, keep_screenshot
from thidua.contracts.criteria import CriteriaConfig
from thidua.contracts.events import Tier

pytestmark = pytest.mark.skipif(chromium_binary() is None, reason="Debian chromium not installed")


def test_dashboard_shows_the_ranking_and_follows_it_live(
    live: LiveServer, ch: Client, config: CriteriaConfig
) -> None:
    total = len(config.for_tier(Tier.DISTRICT))
    url = f"{live.url}/dashboard?tier=district&period=2024-Q3"
    with DashboardPage(url) as page:
        before = page.wait_for_ranking()
        assert before.splitlines() == [
            f"1 | UBND thành phố Tuyên Quang | 0,00 | 0/{total}",
            f"1 | UBND huyện Sơn Dương | 0,00 | 0/{total}",
        ]
        notes = page.evaluate("document.querySelector('#ranking .nodata').innerText")
        assert notes == f"{total} tiêu chí chưa có dữ liệu"
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
        page.wait_for("Chart.getChart('trend-canvas') !== undefined")
        shot = keep_screenshot(page, "dashboard-live")
        assert page.console == []  # no script error, nothing blocked by the CSP
    assert shot.stat().st_size > 10_000


HEATMAP_JS = (
    "[...document.querySelectorAll('#heatmap tbody tr')].map(r => ["
    "r.querySelector('th').dataset.unit, r.querySelector('.delta').innerText,"
    " [...r.querySelectorAll('td.cell')].map(c => c.dataset.criterion + ':' +"
    " c.querySelector('b').innerText + ':' + c.className.split(' ')[1]).join(' ')])"
)


def test_heatmap_rank_changes_and_alerts(live: LiveServer, ch: Client) -> None:
    for n, (unit_id, severity, rule) in enumerate(
        [("P2", "warning", "flow_below_target"), ("P3", "info", "unit_silent"),
         ("P3", "critical", "unit_silent"), ("X1", "warning", "flow_below_target")]
    ):  # fmt: skip
        data.insert_alert(ch, fingerprint=f"ui|{n}", unit_id=unit_id, severity=severity, rule=rule)
    live.app.state.on_refresh(set())
    with DashboardPage(f"{live.url}/dashboard?tier=province_agency&period=2025") as page:
        page.wait_for("document.querySelectorAll('#heatmap td.cell').length > 0")
        rows = page.evaluate(HEATMAP_JS)
        assert [(r[0], r[1]) for r in rows] == [("P1", "="), ("P2", "▼ 1"), ("P3", "▼ 2")]
        p1, p2, p3 = (dict(c.split(":", 1) for c in r[2].split(" ")) for r in rows)
        assert set(p1.values()) <= {"✓:met"} and p1["C06"] == "✓:met"
        assert p2["C03"] == "✗:below"  # 60% against 80%: a symbol, not only a colour
        assert p3["C01"] == "–:nodata" and p3["C02"] == "✓:met"
        changes = page.evaluate(
            "[...document.querySelectorAll('#ranking tbody td.change')].map(c => c.innerText)"
        )
        assert changes == ["=", "▼ 1", "▼ 2"]
        # alerts of this tier only, grouped by rule with counts, names and readable severities
        page.wait_for("document.querySelectorAll('#alerts .alert').length >= 3", timeout=15)
        chips = page.evaluate("document.getElementById('alert-rules').innerText")
        assert "Đơn vị không phát sinh dữ liệu 2" in chips.replace("\n", " ")
        page.evaluate("document.querySelectorAll('#alerts details').forEach(d => d.open = true)")
        alerts = page.evaluate("document.getElementById('alerts').innerText")
        assert "Sở Tài chính" in alerts and "Nghiêm trọng" in alerts and "Thông tin" in alerts
        assert "UBND xã An Tường" not in alerts  # a commune's alert: another tier
        assert "unit_silent" not in alerts
        keep_screenshot(page, "dashboard-heatmap", "#heatmap-panel", scale=0.7)
        assert page.console == []


def test_trend_with_target_line_and_a_criterions_trend(live: LiveServer) -> None:
    with DashboardPage(f"{live.url}/dashboard?tier=province_agency&period=2025&unit=P2") as page:
        page.wait_for("Chart.getChart('trend-canvas') !== undefined")
        q1 = page.evaluate("Chart.getChart('trend-canvas').data.labels.indexOf('I/2025')")
        datasets = page.evaluate(
            f"Chart.getChart('trend-canvas').data.datasets.map(d => [d.label, d.data[{q1}]])"
        )
        labels = [d[0] for d in datasets]
        assert labels == ["Điểm", "Mục tiêu (đạt mọi chỉ tiêu = 100)", "Hạng"]
        assert datasets[1][1] == 100 and datasets[2][1] == 2  # P2 ranks 2nd in 2025-Q1
        # a criterion clicked in the heatmap: its value by quarter against its target
        page.wait_for(
            "document.querySelector('#heatmap td[data-unit=P2][data-criterion=C03]') !== null"
        )
        page.evaluate(
            "document.querySelector('#heatmap td[data-unit=P2][data-criterion=C03]').click()"
        )
        page.wait_for("Chart.getChart('crit-trend-canvas') !== undefined")
        series = page.evaluate(
            "Object.fromEntries(Chart.getChart('crit-trend-canvas').data.datasets"
            ".map(d => [d.label, d.data.filter(v => v !== null)]))"
        )
        assert set(series["Chỉ tiêu"]) == {80} and 60 in series["Giá trị"]
        # the scorecard's figures: Vietnamese formats, units on what is missing, Có/Chưa
        card = page.evaluate("document.getElementById('card').innerText")
        assert "cần thêm 20 hồ sơ" in card and "60,0% (60/100)" in card
        c06 = page.evaluate("document.querySelector('.crit[data-criterion=C06] .figure').innerText")
        assert c06.split("\n") == ["Có", "chỉ tiêu Có"]  # a boolean, not "100,0% (1/1)"
        # the drill-down opens from the scorecard
        page.evaluate("document.querySelector('[data-evidence=C03]').click()")
        page.wait_for("!document.getElementById('evidence').hidden")
        assert "C03 — Hồ sơ TTHC" in page.evaluate("document.getElementById('evidence').innerText")
        page.evaluate(
            "Object.assign(document.getElementById('card-panel').style,"
            " {maxHeight: 'none', position: 'static'})"
        )
        time.sleep(0.5)  # the charts redraw at the panel's new size
        keep_screenshot(page, "dashboard-scorecard-trend", "#card-panel", scale=0.6)
        assert page.console == []


def test_usable_at_360_px_without_horizontal_scroll(live: LiveServer) -> None:
    with DashboardPage(f"{live.url}/dashboard?tier=province_agency&period=2025&unit=P2") as page:
        page.resize(360, 800)
        page.wait_for_ranking()
        page.wait_for("Chart.getChart('trend-canvas') !== undefined")
        page.wait_for("document.querySelectorAll('#heatmap td.cell').length > 0")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert page.evaluate("window.innerWidth") == 360 and width <= 360
        # every panel fits; wide tables scroll inside their own box
        overflowing = page.evaluate(
            "[...document.querySelectorAll('.panel, header, nav')]"
            ".filter(e => e.getBoundingClientRect().right > 360.5).map(e => e.id || e.tagName)"
        )
        assert overflowing == []
        assert page.evaluate("getComputedStyle(document.querySelector('main')).gridTemplateColumns")
        keep_screenshot(page, "dashboard-360px", scale=1.0, height=1300)
        assert page.console == []


def test_dashboard_over_time_closed_units_provisional_plan(live: LiveServer) -> None:
    """SPEC §7: 2025 ranks the district closed on 2025-07-01, marked with its successor;
    2026 is tạm tính under the provisional plan, and has no district tier any more."""
    with DashboardPage(f"{live.url}/dashboard?tier=district&period=2025") as page:
        rows = page.wait_for_ranking().splitlines()
        assert any("UBND huyện Na Hang đã đóng 1/7/2025 → UBND xã An Tường" in r for r in rows)
        assert page.evaluate("document.getElementById('plan').hidden")  # 2025: final
        tiers = page.evaluate("[...document.getElementById('tier').options].map(o => o.value)")
        assert "district" in tiers
        keep_screenshot(page, "dashboard-2025-closed-districts", height=900)

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
        shot = keep_screenshot(page, "dashboard-2026-provisional", height=900)
        assert page.console == []
    assert shot.stat().st_size > 10_000
