"""deploy/monitoring: the alerting rules are Prometheus rule groups whose expressions parse, and
every metric the rules and the Grafana dashboard query is one ``kwa metrics`` exposes.

promtool is not installed; the expressions are parsed by promql-parser (the Rust PromQL parser's
Python bindings). The exposed names are read from the collector over the seeded database, not
from a list kept here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

promql = pytest.importorskip("promql_parser", reason="promql-parser (test dependency) is not installed")

from tests.metrics.helpers import exposition, parse  # noqa: E402

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULES = MONITORING / "kwa-alerts.yaml"
DASHBOARD = MONITORING / "kwa-dashboard.json"
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def metric_names(node: Any) -> Iterator[str]:
    """Every metric name a parsed PromQL expression selects."""
    if isinstance(node, promql.VectorSelector):
        if node.name:
            yield node.name
        for m in node.matchers.matchers:
            if m.name == "__name__":
                yield m.value
    elif isinstance(node, promql.MatrixSelector):
        yield from metric_names(node.vector_selector)
    elif isinstance(node, promql.BinaryExpr):
        yield from metric_names(node.lhs)
        yield from metric_names(node.rhs)
    elif isinstance(node, promql.Call):
        for arg in node.args:
            yield from metric_names(arg)
    elif isinstance(node, promql.AggregateExpr):
        yield from metric_names(node.expr)
        if node.param is not None:
            yield from metric_names(node.param)
    elif isinstance(node, promql.ParenExpr | promql.UnaryExpr | promql.SubqueryExpr):
        yield from metric_names(node.expr)
    else:
        assert isinstance(node, promql.NumberLiteral | promql.StringLiteral), f"unhandled node {type(node)}"


def names_in(expr: str, where: str) -> set[str]:
    try:
        tree = promql.parse(expr)
    except ValueError as exc:
        pytest.fail(f"{where}: PromQL does not parse: {exc}: {expr}")
    return set(metric_names(tree))


@pytest.fixture
def exposed(collector) -> dict[str, set[str]]:
    """Metric name -> its label names, as the collector exposes them over the seeded database."""
    out: dict[str, set[str]] = {}
    for name, series in parse(exposition(collector)).items():
        out[name] = {label for key in series for label, _ in key}
    return out


def test_the_walker_finds_names_wherever_they_are() -> None:
    expr = 'sum by (c) (rate(a[5m])) / on(c) (b offset 1h) - max_over_time(c[1h:5m]) + -{__name__="d"} > 1'
    assert names_in(expr, "test") == {"a", "b", "c", "d"}


def test_rules_are_prometheus_rule_groups() -> None:
    doc = yaml.safe_load(RULES.read_text())
    assert set(doc) == {"groups"}
    names = [g["name"] for g in doc["groups"]]
    assert len(names) == len(set(names)) and all(isinstance(n, str) and n for n in names)
    alerts = []
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "limit", "rules"}
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            where = f"{RULES.name}: group {group['name']}: {rule.get('alert')}"
            assert set(rule) <= RULE_KEYS and {"alert", "expr"} <= set(rule), where
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"]), where
            assert isinstance(rule["expr"], str), where
            names_in(rule["expr"], where)
            if "for" in rule:
                assert DURATION.match(rule["for"]), where
                promql.parse_duration(rule["for"])
            for section in ("labels", "annotations"):
                for key, val in (rule.get(section) or {}).items():
                    assert LABEL_NAME.match(key) and isinstance(val, str), (where, key)
                    assert val.count("{{") == val.count("}}"), (where, key)  # Go templates closed
            assert rule["labels"]["severity"] in ("critical", "warning", "info"), where
            assert rule["annotations"]["summary"], where
            alerts.append(rule["alert"])
    # The three alerts the monitoring docs promise.
    assert {"KwaScoreDropped", "KwaNewCriticalFindings", "KwaNoSuccessfulRun"} <= set(alerts)


def test_every_metric_the_rules_use_is_exposed_with_the_labels_they_match(exposed) -> None:
    doc = yaml.safe_load(RULES.read_text())
    used: set[str] = set()
    for group in doc["groups"]:
        for rule in group["rules"]:
            found = names_in(rule["expr"], rule["alert"])
            assert found, f"{rule['alert']} queries no metric"
            assert found <= set(exposed), (rule["alert"], found - set(exposed))
            tree = promql.parse(rule["expr"])
            for label in _matched_labels(tree):
                assert any(label in exposed[n] for n in found), (rule["alert"], label)
            used |= found
    assert {"kwa_run_score", "kwa_findings", "kwa_last_success_timestamp_seconds"} <= used


def _matched_labels(node: Any) -> Iterator[str]:
    if isinstance(node, promql.VectorSelector):
        yield from (m.name for m in node.matchers.matchers if m.name != "__name__")
    for attr in ("lhs", "rhs", "expr", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from _matched_labels(child)
    for arg in getattr(node, "args", None) or []:
        yield from _matched_labels(arg)


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # rows hold their panels


def test_every_dashboard_query_parses_and_uses_exposed_metrics(exposed) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in _panels(dashboard)]
    assert len(ids) == len(set(ids))
    used: set[str] = set()
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            where = f"{DASHBOARD.name}: panel {panel['title']!r} target {target['refId']}"
            found = names_in(target["expr"], where)
            assert found and found <= set(exposed), (where, found - set(exposed))
            for label in _matched_labels(promql.parse(target["expr"])):
                assert any(label in exposed[n] for n in found), (where, label)
            for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")):
                assert any(label in exposed[n] for n in found), (where, label)
            used |= found
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["query"]["query"])
            assert m, variable
            assert m.group(1) in exposed and m.group(2) in exposed[m.group(1)]
    titles = " ".join(p["title"].lower() for p in _panels(dashboard))
    for topic in ("score per pillar", "coverage", "findings by severity", "last run state", "since last"):
        assert topic in titles
    assert {"kwa_score", "kwa_findings", "kwa_last_run_state", "kwa_last_success_timestamp_seconds"} <= used


def test_the_docs_example_queries_parse_and_use_exposed_metrics(exposed) -> None:
    text = (MONITORING.parents[1] / "docs" / "metrics.md").read_text()
    blocks = re.findall(r"```promql\n(.*?)```", text, re.S)
    queries = [ln for b in blocks for ln in b.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(queries) >= 5
    for q in queries:
        found = names_in(q, f"docs/metrics.md: {q}")
        assert found and found <= set(exposed), q
