"""The one console script: a subcommand per process (STYLE: no registries, no eval)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Thi đua CĐS")
kafka_app = typer.Typer(no_args_is_help=True, help="The local Apache Kafka broker (KRaft).")
app.add_typer(kafka_app, name="kafka")


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _broker(data_dir: Path, port: int, controller_port: int | None):  # type: ignore[no-untyped-def]
    from thidua.local.kafka_broker import BrokerConfig

    return BrokerConfig(data_dir=data_dir, port=port, controller_port=controller_port or port + 1)


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Fetch the broker's jars from Maven Central into the cache."""
    from thidua.local.kafka_broker import fetch

    fetch()


@kafka_app.command("start")
def kafka_start(
    data_dir: Path = typer.Option(Path("var/kafka"), help="KRaft storage and logs"),
    port: int = typer.Option(9092),
    controller_port: int = typer.Option(None, help="default: port + 1"),
) -> None:
    """Start a one-node broker in the background; returns when it answers."""
    from thidua.local.kafka_broker import start

    start(_broker(data_dir, port, controller_port))


@kafka_app.command("stop")
def kafka_stop(
    data_dir: Path = typer.Option(Path("var/kafka")),
    port: int = typer.Option(9092),
) -> None:
    """Stop the broker started from ``data_dir``."""
    from thidua.local.kafka_broker import stop

    stopped = stop(_broker(data_dir, port, None))
    typer.echo("Kafka stopped" if stopped else "Kafka was not running")


@app.command()
def migrate() -> None:
    """Create or upgrade the ClickHouse schema (idempotent)."""
    from thidua.settings import CommonSettings
    from thidua.store.client import get_client
    from thidua.store.migrations import migrate as run_migrations

    settings = CommonSettings()
    _logging(settings.log_level)
    applied = run_migrations(get_client(settings.clickhouse_dsn), progress=typer.echo)
    typer.echo(f"schema up to date ({len(applied)} migration(s) applied now)")


@app.command()
def ingest() -> None:
    """Run the ingest service (HTTP → Kafka)."""
    from services.ingest.main import run

    run()


@app.command()
def scoring() -> None:
    """Run a Faust scoring worker (add more workers to share partitions)."""
    from services.scoring.main import run

    run()


@app.command()
def notify() -> None:
    """Run the notify service (threshold rules → alerts)."""
    from services.notify.main import run

    run()


@app.command()
def api() -> None:
    """Run the api service (and, on chDB, the ClickHouse writer inside it)."""
    from services.api.main import run

    run()


@app.command()
def writer() -> None:
    """Run the ClickHouse writer on its own (beside a ClickHouse server)."""
    from services.scoring.writer.main import run

    run()


@app.command()
def up(
    simulate_units: bool = typer.Option(True, help="feed a simulated province"),
) -> None:
    """Start the whole stack locally on the embedded defaults and feed it."""
    from thidua.local.up import run

    run(simulate=simulate_units)


@app.command("replay-dlq")
def replay_dlq() -> None:
    """Replay the dead-letter topic once the cause is fixed."""
    from services.ingest.dlq import replay_cli

    replay_cli()


@app.command()
def simulate() -> None:
    """Post a simulated province's events to ingest."""
    from thidua.simulate.main import run

    run()


@app.command()
def recompute() -> None:
    """Recompute every KPI from raw events in ClickHouse SQL and compare with streaming."""
    from services.scoring.recompute import run

    run()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
