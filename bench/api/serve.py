"""The api on a fresh chDB holding a synthetic province: ``python -m bench.api.serve``.
Runs in its own process because a chDB path belongs to one process."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from bench.api.province import fill
from services.api.app import create_app
from thidua.contracts.plans import default_plans
from thidua.settings import ApiSettings
from thidua.store.client import get_client
from thidua.store.migrations import migrate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--units", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level="WARNING")
    client = get_client(args.dsn)
    migrate(client, progress=lambda _: None)
    fill(client, default_plans().plans[0], args.units)
    settings = ApiSettings(clickhouse_dsn=args.dsn, writer_embedded=False)
    app = create_app(settings, client)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
