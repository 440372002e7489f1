"""``thidua recompute``: the batch recompute of :mod:`thidua.store.recompute` against the
streaming result, on the store itself or through the api that owns it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from thidua.contracts.plans import load_plans
from thidua.store.periods_index import standard_periods
from thidua.store.recompute import LIVE_SETTLE, compare_report, report_json


def print_report(doc: dict[str, Any]) -> int:
    """Print a :func:`report_json` document; returns its count of differences."""
    for period in doc["periods"]:
        differences = period["differences"]
        print(
            f"{period['period']}: {period['units']} unit(s) compared, "
            f"{len(differences)} difference(s)"
        )
        for d in differences[:20]:
            print(
                f"  {d['unit_id']} {d['field']}: streaming={d['streaming']!r} batch={d['batch']!r}"
            )
        if len(differences) > 20:
            print(f"  … {len(differences) - 20} more")
    total = int(doc["differences"])
    print(f"total: {total} difference(s)")
    return total


def run() -> None:
    """``thidua recompute``: compare every standard period; exit 1 on any difference.

    When another process owns the embedded ClickHouse (the api, in embedded mode), the api
    runs the comparison on its own engine (``POST /v1/recompute``)."""
    from thidua.settings import CommonSettings, store_dsn
    from thidua.store.client import ChdbPathBusy, get_client
    from thidua.store.migrations import migrate

    settings = CommonSettings()
    plans = load_plans(settings.plans_dir)
    dsn = store_dsn(settings)
    print(f"recompute: comparing the store at {dsn.split('@')[-1]}", file=sys.stderr)
    try:
        client = get_client(dsn)
    except ChdbPathBusy as exc:
        doc = _through_api(str(exc))
    else:
        try:
            migrate(client, progress=lambda _: None, cluster=settings.clickhouse_cluster)
            now = datetime.now(UTC)
            periods = standard_periods(now, plans)
            doc = report_json(compare_report(client, plans, periods, settle=LIVE_SETTLE))
        finally:
            client.close()  # an embedded engine stays open while any handle is
    differences = print_report(doc)
    if not any(period["units"] for period in doc["periods"]):
        print(
            "recompute: no unit to compare — an empty store proves nothing (set "
            "THIDUA_CLICKHOUSE_DSN to the store the api uses)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    raise SystemExit(1 if differences else 0)


def _through_api(busy: str) -> dict[str, Any]:
    """The api's comparison, on the engine it owns, asked with a write token: the api's first
    (``THIDUA_API_WRITE_TOKENS`` or its file), else the one `thidua up` left in
    ``$THIDUA_VAR_DIR``."""
    import httpx

    from thidua.settings import ApiSettings

    api = ApiSettings()
    host = "127.0.0.1" if api.api_host in ("0.0.0.0", "::") else api.api_host
    url = f"http://{host}:{api.api_port}/v1/recompute?settle=true"
    known = api.write_tokens()
    token = known[0] if known else api.local_write_token()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    print(f"recompute: {busy}; asking the api at {url} …", file=sys.stderr)
    try:
        response = httpx.post(url, headers=headers, timeout=httpx.Timeout(10.0, read=3600.0))
    except httpx.HTTPError as exc:
        print(f"recompute: the api did not answer ({exc})", file=sys.stderr)
        raise SystemExit(2) from exc
    if response.status_code != 200:
        print(f"recompute: the api said {response.status_code}: {response.text}", file=sys.stderr)
        raise SystemExit(2)
    doc: dict[str, Any] = response.json()
    return doc
