"""Compose, Kubernetes, Prometheus, Grafana, the Dockerfile and the settings classes agree.

Docker is not needed: the files are parsed, and every THIDUA_* variable they set is checked
against the settings class of the process that reads it (and parsed by it).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from thidua import settings as shared

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
APP_ROOT = "/app"  # where the Dockerfile puts the checkout

# process → (settings class "module:Class", fallback, port field)
PROCESSES: dict[str, tuple[str, type[BaseSettings], str]] = {
    "ingest": ("thidua.settings:IngestSettings", shared.IngestSettings, "ingest_port"),
    "scoring": ("thidua.settings:ScoringSettings", shared.ScoringSettings, "scoring_port"),
    "writer": (
        "services.writer.main:StandaloneWriterSettings",
        shared.WriterSettings,
        "writer_metrics_port",
    ),
    "notify": (
        "services.notify.settings:NotifyServiceSettings",
        shared.NotifySettings,
        "notify_port",
    ),
    "api": ("thidua.settings:ApiSettings", shared.ApiSettings, "api_port"),
}
ONE_SHOT = {"migrate": shared.CommonSettings}
# Values that legitimately differ between compose and Kubernetes.
DEPLOYMENT_SPECIFIC = {
    "THIDUA_KAFKA_BOOTSTRAP",
    "THIDUA_CLICKHOUSE_DSN",
    "THIDUA_INGEST_TOKENS_FILE",
    "THIDUA_NOTIFY_WEBHOOK_URLS",
}


def settings_class(process: str) -> type[BaseSettings]:
    if process in ONE_SHOT:
        return ONE_SHOT[process]
    target, fallback, _ = PROCESSES[process]
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return fallback


def env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {(prefix + name).upper() for name in cls.model_fields}


def all_env_names() -> set[str]:
    names: set[str] = set()
    for process in [*PROCESSES, *ONE_SHOT]:
        names |= env_names(settings_class(process))
    return names


def thidua_vars(env: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in env.items() if k.startswith("THIDUA_")}


def load_settings(
    process: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> BaseSettings:
    """The settings the process would build from ``env`` (and nothing else)."""
    import os

    for key in list(os.environ):
        if key.startswith("THIDUA_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return settings_class(process)()


# ---------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def compose_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    env = compose["services"][service].get("environment") or {}
    assert isinstance(env, dict), f"{service}: use the mapping form of environment"
    return {k: str(v) for k, v in env.items()}


def test_compose_runs_every_process_and_the_real_servers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for process in [*PROCESSES, *ONE_SHOT]:
        assert services[process]["command"][0] == process
        assert services[process]["image"] == services["api"]["image"]
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server")
    assert services["prometheus"]["image"].startswith("prom/prometheus")
    assert services["grafana"]["image"].startswith("grafana/grafana")
    # a ClickHouse server means the writer runs alone, not inside api
    assert compose_env(compose, "api")["THIDUA_WRITER_EMBEDDED"] == "false"
    assert compose_env(compose, "writer")["THIDUA_CLICKHOUSE_DSN"].startswith("http://")


def test_compose_commands_are_cli_subcommands(compose: dict[str, Any]) -> None:
    from typer.main import get_command

    from tools.cli import app

    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name, service in compose["services"].items():
        if service.get("image", "").startswith("thidua-cds"):
            assert service["command"][0] in commands, name


@pytest.mark.parametrize("process", [*PROCESSES, *ONE_SHOT])
def test_compose_env_is_settings_fields_and_parses(
    process: str, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = thidua_vars(compose_env(compose, process))
    unknown = set(env) - env_names(settings_class(process))
    assert not unknown, f"{process}: not settings fields: {sorted(unknown)}"
    loaded = load_settings(process, env, monkeypatch)
    if process in PROCESSES:
        port = getattr(loaded, PROCESSES[process][2])
        service = compose["services"][process]
        published = [str(p).split(":")[-1] for p in service.get("ports", [])]
        exposed = [str(p) for p in service.get("expose", [])]
        assert str(port) in published + exposed, f"{process}: port {port} not exposed"
        health = service.get("healthcheck")
        assert not health or f":{port}/" in json.dumps(health), f"{process}: healthcheck port"


def test_compose_files_exist_in_the_image(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in thidua_vars(service.get("environment") or {}).items():
            if key.endswith("_FILE") and value.startswith(APP_ROOT + "/"):
                assert (ROOT / value.removeprefix(APP_ROOT + "/")).is_file(), f"{name}: {key}"


def test_compose_simulator_vars_are_cli_options(compose: dict[str, Any]) -> None:
    from typer.main import get_command

    from tools.cli import app

    simulate = get_command(app).commands["simulate"]  # type: ignore[attr-defined]
    envvars = {p.envvar for p in simulate.params if getattr(p, "envvar", None)}
    assert set(thidua_vars(compose_env(compose, "simulator"))) <= envvars


# ---------------------------------------------------------------- kubernetes


def k8s_documents() -> Iterator[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    for resource in kustomization["resources"]:
        if (K8S / resource).is_dir():  # another kustomization (../prometheus): no pods
            continue
        for doc in yaml.safe_load_all((K8S / resource).read_text(encoding="utf-8")):
            if doc:
                yield doc


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in k8s_documents()}


@pytest.fixture(scope="module")
def k8s_env() -> dict[str, str]:
    """ConfigMap thidua-env plus the generated secret's variables (envFrom of every pod)."""
    config = yaml.safe_load((K8S / "configmap-env.yaml").read_text(encoding="utf-8"))
    env = {k: str(v) for k, v in config["data"].items()}
    for line in (K8S / "secrets.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def test_kustomization_files_exist() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    for resource in kustomization["resources"]:
        path = K8S / resource
        assert path.is_file() or (path / "kustomization.yaml").is_file(), resource
    for generator in kustomization.get("secretGenerator", []):
        for file in generator.get("envs", []) + generator.get("files", []):
            assert (K8S / file).is_file(), file


def test_k8s_env_is_settings_fields(k8s_env: dict[str, str]) -> None:
    unknown = set(thidua_vars(k8s_env)) - all_env_names()
    assert not unknown, f"not settings fields: {sorted(unknown)}"


def test_k8s_has_stateful_servers(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    kafka = k8s[("StatefulSet", "kafka")]["spec"]["template"]["spec"]["containers"][0]
    assert kafka["image"] == "apache/kafka:4.1.1"
    roles = {e["name"]: e.get("value") for e in kafka["env"]}["KAFKA_PROCESS_ROLES"]
    assert "controller" in roles
    clickhouse = k8s[("StatefulSet", "clickhouse")]["spec"]["template"]["spec"]["containers"][0]
    assert clickhouse["image"].startswith("clickhouse/clickhouse-server")


@pytest.mark.parametrize("process", list(PROCESSES))
def test_k8s_deployment_matches_settings(
    process: str,
    k8s: dict[tuple[str, str], dict[str, Any]],
    k8s_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment = k8s[("Deployment", process)]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["args"][0] == process
    refs = {r.get("configMapRef", r.get("secretRef", {})).get("name") for r in container["envFrom"]}
    assert {"thidua-env", "thidua-secrets"} <= refs
    own = {e["name"]: str(e.get("value")) for e in container.get("env", [])}
    env = {**thidua_vars(k8s_env), **thidua_vars(own)}
    port = getattr(load_settings(process, env, monkeypatch), PROCESSES[process][2])
    assert container["ports"][0]["containerPort"] == port
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    service = k8s[("Service", process)]["spec"]
    assert service["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["ports"][0]["targetPort"] == container["ports"][0]["name"]
    for key, value in env.items():
        if key.endswith("_FILE") and value.startswith(APP_ROOT + "/"):
            assert (ROOT / value.removeprefix(APP_ROOT + "/")).is_file(), key


@pytest.mark.parametrize("process", list(PROCESSES))
def test_compose_and_k8s_agree(
    process: str, compose: dict[str, Any], k8s_env: dict[str, str]
) -> None:
    fields = env_names(settings_class(process))
    mine = thidua_vars(compose_env(compose, process))
    cluster = {k: v for k, v in thidua_vars(k8s_env).items() if k in fields}
    assert set(mine) - set(cluster) <= {
        "THIDUA_SMTP_HOST",
        "THIDUA_SMTP_PORT",
        "THIDUA_SMTP_FROM",
        "THIDUA_SMTP_TO",
    }
    for key in set(mine) & set(cluster) - DEPLOYMENT_SPECIFIC:
        assert mine[key] == cluster[key], f"{process}: {key} differs"


# ---------------------------------------------------------------- prometheus, grafana, image


def test_prometheus_scrapes_every_process(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = yaml.safe_load((ROOT / "config" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        target
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    for process, (_, _, port_field) in PROCESSES.items():
        env = thidua_vars(compose_env(compose, process))
        port = getattr(load_settings(process, env, monkeypatch), port_field)
        assert f"{process}:{port}" in targets, f"no scrape target for {process}"


def test_grafana_provisioning() -> None:
    grafana = ROOT / "config" / "grafana"
    datasources = yaml.safe_load((grafana / "provisioning/datasources/prometheus.yaml").read_text())
    source = datasources["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((grafana / "provisioning/dashboards/thidua.yaml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((grafana / "dashboards/thidua-cds.json").read_text(encoding="utf-8"))
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"]
        assert all(re.search(r"thidua_|up\{", t["expr"]) for t in panel["targets"])
    # every metric a panel plots is declared by some process
    declared = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "services").rglob("*.py"))
    for panel in dashboard["panels"]:
        for metric in re.findall(r"thidua_[a-z_]+", panel["targets"][0]["expr"]):
            base = re.sub(r"_(bucket|total|sum|count)$", "", metric)
            exported = f'"{base}"' in declared or f'"{metric}"' in declared
            assert exported, f"{panel['title']}: {metric} is exported by nobody"


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert 'ENTRYPOINT ["thidua"]' in text
    declared = set(re.findall(r"\b(THIDUA_[A-Z_]+)=", text))
    assert declared <= all_env_names()
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", text, re.M) for p in line.split()}
    for process, (_, _, port_field) in PROCESSES.items():
        port = settings_class(process).model_fields[port_field].default
        if process != "writer":
            assert port in exposed, process


# ---------------------------------------------------------------- servers the processes reach


def _advertised(env: dict[str, str]) -> str:
    listeners = dict(item.split("://", 1) for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    return listeners["PLAINTEXT"]


def test_kafka_and_clickhouse_addresses_agree(
    compose: dict[str, Any], k8s: dict[tuple[str, str], dict[str, Any]], k8s_env: dict[str, str]
) -> None:
    from urllib.parse import urlsplit

    kafka_env = {k: str(v) for k, v in compose["services"]["kafka"]["environment"].items()}
    assert compose_env(compose, "api")["THIDUA_KAFKA_BOOTSTRAP"] == _advertised(kafka_env)
    kafka = k8s[("StatefulSet", "kafka")]["spec"]
    pod = kafka["template"]["spec"]["containers"][0]
    # every broker pod advertises its own name: the bootstrap lists them all
    advertised = _advertised({e["name"]: e.get("value", "") for e in pod["env"]})
    brokers = [advertised.replace("$(POD_NAME)", f"kafka-{n}") for n in range(kafka["replicas"])]
    assert k8s_env["THIDUA_KAFKA_BOOTSTRAP"] == ",".join(brokers)

    clickhouse = {k: str(v) for k, v in compose["services"]["clickhouse"]["environment"].items()}
    dsn = urlsplit(compose_env(compose, "writer")["THIDUA_CLICKHOUSE_DSN"])
    assert (dsn.hostname, dsn.port, dsn.path.strip("/")) == (
        "clickhouse",
        8123,
        clickhouse["CLICKHOUSE_DB"],
    )
    assert (dsn.username, dsn.password) == (
        clickhouse["CLICKHOUSE_USER"],
        clickhouse["CLICKHOUSE_PASSWORD"],
    )

    dsn = urlsplit(k8s_env["THIDUA_CLICKHOUSE_DSN"])
    service = k8s[("Service", "clickhouse")]
    assert (dsn.hostname, dsn.port) == (
        service["metadata"]["name"],
        service["spec"]["ports"][0]["port"],
    )
    assert dsn.password == k8s_env["CLICKHOUSE_PASSWORD"]
