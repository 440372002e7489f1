"""The Kubernetes manifests as an operator applies them: rendered by kustomize (the base and
the example overlay, with its secrets filled from the examples), validated against
Kubernetes' own schemas by ``kubernetes-validate --strict``, and checked for what running
at scale needs (issue 17): a 3-node Kafka quorum, disruption budgets, probes and resources,
one writer at a time, a migrate Job per release, a registry image, secrets out of git."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAY = Path("overlays") / "example"
LONG_RUNNING = ("Deployment", "StatefulSet")


def tool(name: str) -> str:
    """A binary of the venv (kustomize is built into it by setup), else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: run scripts/setup.sh --test")
    return found


def render(folder: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [tool("kustomize"), "build", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def validate(docs: list[dict[str, Any]], tmp: Path) -> None:
    path = tmp / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    done = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    docs = render(DEPLOY / "k8s")
    validate(docs, tmp_path_factory.mktemp("base"))
    return docs


@pytest.fixture(scope="module")
def overlay(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The example overlay as an operator fills it: a copy, each secret from its example."""
    copy = tmp_path_factory.mktemp("deploy") / "deploy"
    shutil.copytree(DEPLOY, copy)
    for example in (copy / OVERLAY / "secrets").glob("*.example"):
        shutil.copy(example, example.with_suffix(""))
    docs = render(copy / OVERLAY)
    validate(docs, tmp_path_factory.mktemp("overlay"))
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in (*LONG_RUNNING, "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield f"{doc['kind']}/{doc['metadata']['name']}", container


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_kafka_is_a_three_node_quorum(base: list[dict[str, Any]]) -> None:
    kafka = by_kind(base, "StatefulSet")["kafka"]["spec"]
    assert kafka["replicas"] == 3 and kafka["podManagementPolicy"] == "Parallel"
    pod = kafka["template"]["spec"]
    assert pod["securityContext"]["fsGroup"] == 1000  # the image's non-root user
    env = env_of(pod["containers"][0])
    label = "metadata.labels['apps.kubernetes.io/pod-index']"
    assert env["KAFKA_NODE_ID"]["fieldRef"]["fieldPath"] == label  # node id = ordinal
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://$(POD_NAME).kafka:9092"
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert voters == [f"{n}@kafka-{n}.kafka:9093" for n in range(kafka["replicas"])]
    assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
    bootstrap = by_kind(base, "ConfigMap")["thidua-env"]["data"]["THIDUA_KAFKA_BOOTSTRAP"]
    assert bootstrap.split(",") == [f"kafka-{n}.kafka:9092" for n in range(kafka["replicas"])]


def test_every_pod_has_probes_and_resources(
    base: list[dict[str, Any]], overlay: list[dict[str, Any]]
) -> None:
    for docs in (base, overlay):
        for name, container in containers(docs):
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), name
            assert "memory" in resources.get("limits", {}), name
            if not name.startswith("Job/"):
                assert "readinessProbe" in container and "livenessProbe" in container, name


def test_disruption_budgets_cover_the_replicated_workloads(
    base: list[dict[str, Any]], overlay: list[dict[str, Any]]
) -> None:
    for docs, wanted in (
        (base, {"kafka", "ingest", "api", "scoring"}),
        (overlay, {"kafka", "ingest", "api", "scoring", "clickhouse", "clickhouse-keeper"}),
    ):
        budgets = by_kind(docs, "PodDisruptionBudget")
        assert wanted <= set(budgets)
        workloads = {
            d["metadata"]["name"]: d["spec"]["selector"]["matchLabels"]
            for d in docs
            if d["kind"] in LONG_RUNNING
        }
        for name, budget in budgets.items():
            assert budget["spec"]["selector"]["matchLabels"] == workloads[name], name


def test_one_writer_at_a_time_and_a_migrate_job_per_release(
    base: list[dict[str, Any]], overlay: list[dict[str, Any]]
) -> None:
    writer = by_kind(base, "Deployment")["writer"]["spec"]
    assert writer["replicas"] == 1 and writer["strategy"]["type"] == "Recreate"
    job = by_kind(base, "Job")["thidua-migrate"]["spec"]
    assert job["ttlSecondsAfterFinished"] > 0
    ((name, job),) = by_kind(overlay, "Job").items()
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    tag = image.rpartition(":")[2]
    assert name == f"thidua-migrate-{tag.replace('.', '-')}", "name the Job after the tag"


def test_the_overlay_pulls_from_a_registry_and_keeps_secrets_out_of_git(
    overlay: list[dict[str, Any]],
) -> None:
    ours = [c["image"] for _, c in containers(overlay) if "thidua-cds" in c["image"]]
    assert ours
    for image in ours:
        registry, _, rest = image.partition("/")
        assert "." in registry and ":" in rest, f"{image}: not a registry image with a tag"
    for secret in by_kind(overlay, "Secret").values():
        for value in secret.get("data", {}).values():
            assert "thidua-dev" not in base64.b64decode(value).decode(), secret["metadata"]
    ignored = (DEPLOY / OVERLAY / "secrets" / ".gitignore").read_text(encoding="utf-8")
    assert "*" in ignored.splitlines() and "!*.example" in ignored.splitlines()
    tracked = subprocess.run(
        ["git", "ls-files", str(DEPLOY / OVERLAY / "secrets")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.split()
    assert all(f.endswith((".example", ".gitignore")) for f in tracked), tracked


def test_the_overlay_runs_replicated_clickhouse_with_keeper(overlay: list[dict[str, Any]]) -> None:
    sets = by_kind(overlay, "StatefulSet")
    assert sets["clickhouse"]["spec"]["replicas"] == 2
    assert sets["clickhouse-keeper"]["spec"]["replicas"] == 3
    env = by_kind(overlay, "ConfigMap")["thidua-env"]["data"]
    assert env["THIDUA_CLICKHOUSE_CLUSTER"] == "thidua"
    configs = by_kind(overlay, "ConfigMap")
    cluster = next(v for k, v in configs.items() if k.startswith("clickhouse-cluster-config"))
    xml = cluster["data"]["cluster.xml"]
    assert "<thidua>" in xml and xml.count("<replica><host>") == 2
    assert xml.count("clickhouse-keeper-") == 3 and '<replica from_env="HOSTNAME"/>' in xml
    keeper = next(v for k, v in configs.items() if k.startswith("clickhouse-keeper-config"))
    ids = {keeper["data"][f"clickhouse-keeper-{n}.xml"] for n in range(3)}
    assert len(ids) == 3  # one server_id per pod, mounted by its name


def test_the_alert_rules_ship_with_the_base(base: list[dict[str, Any]]) -> None:
    rules = next(
        d
        for d in base
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("thidua-prometheus-rules")
    )
    shipped = rules["data"]["thidua.rules.yml"]
    assert shipped == (DEPLOY / "prometheus" / "rules" / "thidua.rules.yml").read_text("utf-8")


def test_compose_builds_the_image_once() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    ours = {n: s for n, s in compose["services"].items() if "thidua-cds" in s.get("image", "")}
    builders = [n for n, s in ours.items() if "build" in s]
    assert builders == ["migrate"]
    for name, service in ours.items():
        if name != "migrate":
            assert service.get("pull_policy") == "never", name
            waits = service.get("depends_on", {})
            assert "migrate" in waits or "ingest" in waits, f"{name} may start before the build"
