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
    from tools.local.kafka_broker import BrokerConfig

    return BrokerConfig(data_dir=data_dir, port=port, controller_port=controller_port or port + 1)


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Fetch the broker's jars from Maven Central into the cache."""
    from tools.local.kafka_broker import fetch

    fetch()


@kafka_app.command("start")
def kafka_start(
    data_dir: Path = typer.Option(Path("var/kafka"), help="KRaft storage and logs"),
    port: int = typer.Option(9092),
    controller_port: int = typer.Option(None, help="default: port + 1"),
    brokers: int = typer.Option(
        1, min=1, max=9, help="nodes; from 2 on node n listens on port + 2(n-1)"
    ),
) -> None:
    """Start a broker (or a cluster of ``--brokers``) in the background; returns when it answers."""
    from tools.local.kafka_broker import bootstrap_of, cluster, start_cluster

    if brokers == 1:
        nodes = [_broker(data_dir, port, controller_port)]
    else:
        nodes = cluster(data_dir, port, brokers)
    start_cluster(nodes)
    typer.echo(f"THIDUA_KAFKA_BOOTSTRAP={bootstrap_of(nodes)}")


@kafka_app.command("stop")
def kafka_stop(
    data_dir: Path = typer.Option(Path("var/kafka")),
    port: int = typer.Option(9092),
    brokers: int = typer.Option(1, min=1, max=9, help="as given to start"),
) -> None:
    """Stop the broker (or cluster) started from ``data_dir``."""
    from tools.local.kafka_broker import cluster, stop_cluster

    nodes = [_broker(data_dir, port, None)] if brokers == 1 else cluster(data_dir, port, brokers)
    stopped = stop_cluster(nodes)
    typer.echo(f"Kafka stopped ({stopped} node(s))" if stopped else "Kafka was not running")


@kafka_app.command("regenerate")
def kafka_regenerate(
    to_prefix: str = typer.Option(..., help="the new generation's THIDUA_TOPIC_PREFIX"),
    partitions: int = typer.Option(..., min=1, help="its THIDUA_TOPIC_PARTITIONS"),
    reset_counters: bool = typer.Option(
        False, help="then clear ClickHouse kpi_counters (the writer must be stopped)"
    ),
) -> None:
    """Copy the source topics of THIDUA_TOPIC_PREFIX into a new generation with more
    partitions (docs/SCALING.md: raising the partition count)."""
    from thidua.settings import CommonSettings
    from tools.regenerate import regenerate
    from tools.regenerate import reset_counters as clear_counters

    settings = CommonSettings()
    _logging(settings.log_level)
    report = regenerate(
        settings.kafka_bootstrap, settings.topic_prefix, to_prefix, partitions, typer.echo
    )
    typer.echo(f"{report.total} records copied into {to_prefix}* ({partitions} partitions)")
    if reset_counters:
        clear_counters(settings.clickhouse_dsn, settings.clickhouse_cluster)
        typer.echo("kpi_counters cleared: the new generation's writer fills it again")


@app.command()
def migrate() -> None:
    """Create or upgrade the ClickHouse schema (idempotent)."""
    from thidua.settings import CommonSettings
    from thidua.store.client import get_client
    from thidua.store.migrations import migrate as run_migrations

    settings = CommonSettings()
    _logging(settings.log_level)
    applied = run_migrations(
        get_client(settings.clickhouse_dsn),
        progress=typer.echo,
        cluster=settings.clickhouse_cluster,
    )
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
    from tools.embedded import embedded_writer

    run(companion=embedded_writer())


@app.command()
def writer() -> None:
    """Run the ClickHouse writer on its own (beside a ClickHouse server)."""
    from services.writer.main import run

    run()


@app.command()
def up(
    simulate_units: bool = typer.Option(True, help="feed a simulated province"),
) -> None:
    """Start the whole stack locally on the embedded defaults and feed it."""
    from tools.local.up import run

    run(simulate=simulate_units)


@app.command("replay-dlq")
def replay_dlq() -> None:
    """Replay the dead-letter topic once the cause is fixed."""
    from thidua.dlq import replay_cli

    replay_cli()


@app.command()
def simulate(
    ingest_url: str = typer.Option(
        "http://127.0.0.1:8001", envvar="THIDUA_SIMULATE_INGEST_URL", help="ingest base URL"
    ),
    token: str = typer.Option(
        None,
        envvar="THIDUA_SIMULATE_TOKEN",
        help="one bearer token (default: the dev simulator token)",
    ),
    tokens_file: Path = typer.Option(None, help="YAML of tokens per source system"),
    seed: int = typer.Option(154, help="same seed, same events"),
    since: str = typer.Option("2025-01-01", help="first day of flow events (ISO date/time)"),
    until: str = typer.Option("now", help="end of the range (exclusive)"),
    scale: float = typer.Option(0.5, min=0.01, help="staff counts and event rates x scale"),
    batch_size: int = typer.Option(500, min=1, max=1000),
    live: bool = typer.Option(False, help="then keep sending today's events"),
    rate: float = typer.Option(20.0, min=0.1, help="live events per second"),
    registry: Path = typer.Option(None, help="unit registry YAML (default: Tuyên Quang)"),
    write_registry: bool = typer.Option(
        False, "--write-registry", help="regenerate config/units-tuyen-quang.yaml and exit"
    ),
    dry_run: bool = typer.Option(False, help="count the events by type, send nothing"),
    out: Path = typer.Option(None, help="write the events as JSON lines instead of sending"),
    dvc_format: str = typer.Option(
        "cloudevents",
        envvar="THIDUA_SIMULATE_DVC_FORMAT",
        help="cloudevents, or dvcqg: procedures and dossiers as the national portal sends them "
        "(POST /v1/dvcqg/…)",
    ),
) -> None:
    """Post a simulated province's events to ingest."""
    from tools.simulate.main import run
    from tools.simulate.registry import DEFAULT_REGISTRY_FILE

    run(
        ingest_url=ingest_url,
        token=token,
        tokens_file=tokens_file,
        seed=seed,
        since=since,
        until=until,
        scale=scale,
        batch_size=batch_size,
        live=live,
        rate=rate,
        registry_file=registry,
        write_registry_to=DEFAULT_REGISTRY_FILE if write_registry else None,
        dry_run=dry_run,
        out=out,
        dvc_format=dvc_format,
    )


@app.command()
def recompute() -> None:
    """Recompute every KPI from raw events in ClickHouse SQL and compare with streaming."""
    from tools.recompute import run

    run()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
