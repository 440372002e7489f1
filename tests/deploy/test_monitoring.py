"""Monitoring that works: the alert rules pass `promtool check rules` and their unit tests
(`promtool test rules`), Prometheus's config loads them, and every metric a rule or a Grafana
panel queries is one the services really export (read from their registries, not grepped)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "thidua.rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "tests" / "thidua.rules.test.yml"
DASHBOARD = ROOT / "config" / "grafana" / "dashboards" / "thidua-cds.json"
# Series Prometheus makes itself, not the services.
BUILTIN = {"up"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created", ""),
    "info": ("_info",),
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run scripts/setup.sh --test (Debian package prometheus)")
    return found


def exported() -> set[str]:
    """Every sample name the five processes can export (all metric modules imported)."""
    import services.api.metrics  # noqa: F401
    import services.ingest.metrics  # noqa: F401
    import services.notify.metrics  # noqa: F401
    import services.writer.metrics  # noqa: F401
    from services.scoring.metrics import ScoringMetrics

    names: set[str] = set()
    registry: CollectorRegistry
    for registry in (REGISTRY, ScoringMetrics().registry):
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def queried(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label names, functions and keywords aside)."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    keywords = {"and", "or", "unless", "bool", "offset", "le", "s", "m", "h", "d"}
    return {n for n in names if n not in keywords and not re.fullmatch(r"\d+[smhdwy]?", n)}


def rule_exprs() -> dict[str, str]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r["expr"] for g in doc["groups"] for r in g["rules"]}


def panel_exprs() -> dict[str, list[str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return {p["title"]: [t["expr"] for t in p["targets"]] for p in dashboard["panels"]}


def test_promtool_checks_the_rules_and_the_config() -> None:
    tool = promtool()
    subprocess.run([tool, "check", "rules", str(RULES)], check=True, capture_output=True)
    done = subprocess.run(
        [tool, "check", "config", "--syntax-only", str(ROOT / "config" / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_every_rule() -> None:
    done = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text(encoding="utf-8")))
    assert tested == set(rule_exprs()), "every rule has a unit test"


def test_the_rules_cover_what_an_operator_is_paged_for() -> None:
    rules = rule_exprs()
    wanted = {
        "ThiduaScoringLagHigh": "thidua_scoring_consumer_lag",
        "ThiduaWriterLagHigh": "thidua_writer_consumer_lag",
        "ThiduaResultsStale": "thidua_writer_last_flush_timestamp_seconds",
        "ThiduaIngest5xx": "thidua_ingest_request_seconds_count",
        "ThiduaIngest4xx": "thidua_ingest_events_rejected_total",
        "ThiduaDeadLetters": "thidua_scoring_dead_letters_total",
        "ThiduaSourceSilent": "thidua_ingest_last_accepted_timestamp_seconds",
        "ThiduaTargetDown": "up",
    }
    for alert, metric in wanted.items():
        assert metric in queried(rules[alert]), alert


def test_every_rule_and_panel_queries_metrics_that_exist() -> None:
    names = exported() | BUILTIN
    for alert, expr in rule_exprs().items():
        assert queried(expr) <= names, f"{alert}: {queried(expr) - names} exported by nobody"
    for title, exprs in panel_exprs().items():
        for expr in exprs:
            assert queried(expr), f"{title}: no metric in {expr}"
            assert queried(expr) <= names, f"{title}: {queried(expr) - names} exported by nobody"


def test_the_dashboard_filters_by_job_and_instance() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) >= {"job", "instance"}
    assert "$job" in variables["instance"]["query"]["query"]
    up = [e for exprs in panel_exprs().values() for e in exprs if queried(e) == {"up"}]
    # external labels (system=…) are not on stored series: the up panel must not filter on them
    assert up and all("system=" not in e for e in up)
    titles = " ".join(panel_exprs())
    for needed in ("thidua_writer_last_flush_timestamp_seconds", "dead_letter", "errors"):
        assert any(needed in e for exprs in panel_exprs().values() for e in exprs), needed
    assert titles


def test_kubernetes_scrapes_name_the_jobs_as_the_rules_expect() -> None:
    """(Structure only: Debian's promtool is built without Kubernetes service discovery.)"""
    config = yaml.safe_load((RULES.parents[1] / "prometheus-k8s.yml").read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["thidua"]
    targets = {r.get("target_label"): r.get("source_labels") for r in job["relabel_configs"]}
    assert targets["job"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    assert targets["instance"] == ["__meta_kubernetes_pod_name"]
    assert "/etc/prometheus/rules/*.yml" in config["rule_files"]


def test_compose_mounts_the_rules() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in volumes
    config = yaml.safe_load((ROOT / "config" / "prometheus.yml").read_text(encoding="utf-8"))
    assert "/etc/prometheus/rules/*.yml" in config["rule_files"]


def test_the_queries_parser_finds_metrics() -> None:
    expr = 'sum by (le) (rate(thidua_x_bucket{status=~"5..", job=~"$job"}[5m])) / on() up'
    assert queried(expr) == {"thidua_x_bucket", "up"}
