"""Issue 5's browser test on the real pipeline: the dashboard shows a ranking, an event posted
through ingest goes through Kafka, Faust and the writer, and the page re-orders live (SSE)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.browser import DashboardPage, chromium_binary
from tests.integration.stack import running_stack
from tests.integration.test_end_to_end import ce, dossier, post, unit
from tests.integration.tokens import SIMULATOR_TOKEN

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chromium_binary() is None, reason="Debian chromium not installed"),
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_dashboard_follows_an_ingested_event_live(kafka_bootstrap: str, tmp_path: Path) -> None:
    with running_stack(kafka_bootstrap, tmp_path) as stack, httpx.Client(timeout=10) as client:
        post(
            client,
            stack.ingest_url,
            [
                unit("so-xay-dung", "Sở Xây dựng"),
                unit("so-cong-thuong", "Sở Công Thương"),
                dossier("x1", "so-xay-dung", "online_full", "2025-05-05T08:00:00+07:00"),
                dossier("t1", "so-cong-thuong", "direct", "2025-05-05T08:00:00+07:00"),
            ],
            SIMULATOR_TOKEN,
        )
        url = f"{stack.api_url}/dashboard?tier=province_agency&period=2025"
        with DashboardPage(url, timeout=60) as page:
            page.wait_for(
                "document.querySelectorAll('#ranking tbody tr[data-unit]').length === 2"
                " && document.querySelector('#ranking tbody tr').innerText.includes('6,25')",
                90,
            )
            before = page.ranking_text().splitlines()
            assert before[0].startswith("1 | Sở Xây dựng | 6,25")
            assert before[1].startswith("2 | Sở Công Thương | 0,00")
            updates = page.updates()

            # Sở Công Thương's dossier is corrected to fully online and it publishes open data.
            post(
                client,
                stack.ingest_url,
                [
                    dossier("t1", "so-cong-thuong", "online_full", "2025-05-05T09:00:00+07:00"),
                    ce(
                        "urn:thidua:tuyen-quang:indicators",
                        "ind-1",
                        "vn.thidua.indicator.observed",
                        "2025-06-30T17:00:00+07:00",
                        {
                            "unit_id": "so-cong-thuong",
                            "indicator": "C06",
                            "numerator": 1,
                            "denominator": 1,
                        },
                    ),
                ],
                SIMULATOR_TOKEN,
            )

            page.wait_for(f"Number(document.body.dataset.updates || 0) > {updates}", 90)
            # Both events land (possibly in two refreshes: they travel on different topics).
            page.wait_for(
                "document.querySelector('#ranking tbody tr').innerText.includes('12,50')", 90
            )
            after = page.ranking_text().splitlines()
            assert after[0].startswith("1 | Sở Công Thương | 12,50 | 2/16")
            assert after[1].startswith("2 | Sở Xây dựng | 6,25 | 1/16")
            assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = page.screenshot(SCREENSHOTS / "dashboard-through-ingest.png")
            assert page.console == []
        assert shot.stat().st_size > 10_000
