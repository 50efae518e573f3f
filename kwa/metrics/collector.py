"""The Prometheus collector: kwa's stored results as ``kwa_*`` gauges, read at scrape time.

Every number comes from storage: :func:`storage.run_facts.cluster_facts` for the runs of each
cluster and :func:`storage.summary.run_summary` for the run whose scores are shown (the same
function ``kwa query assessments summary`` prints), so a dashboard and the CLI agree.

Labels are only ``cluster``, ``pillar``, ``severity``, ``status``, ``state`` and ``framework``: each
has a small, fixed set of values (pillars, five severities, six result statuses or five control
statuses, six run states, the shipped frameworks) and clusters grow
slowly. Object names, namespaces and check ids never become labels: every deploy would add series
Prometheus keeps for weeks (its cost is per series), and a per-object breakdown is what
``kwa query assessments list`` is for.

Families are functions ``(Snapshot) -> metrics`` listed in :data:`FAMILIES`; another family is one
more function there and its names in :data:`METRICS`. Each :class:`ClusterView` carries the scored
run's summary and every shipped framework's report on that run (:mod:`kwa.frameworks`), both read
once per run and kept: a finished run never changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage.enums import STATUSES, RunState
from storage.query_model import SEVERITIES

# Grades as numbers: higher is better, so "the grade fell" is a negative delta like the score's.
GRADE_VALUES: dict[str, int] = {"A": 6, "B": 5, "C": 4, "D": 3, "E": 2, "F": 1}
RUN_STATES: tuple[str, ...] = tuple(s.value for s in RunState)
DEFAULT_CACHE_SECONDS = 5.0
_SUMMARIES_KEPT = 256  # summaries of finished runs never change: kept by run id, this many at most


@dataclass(frozen=True)
class Spec:
    help: str
    labels: tuple[str, ...]
    unit: str = ""


# Every metric kwa exposes: name -> (HELP, labels, unit). docs/metrics.md lists the same.
METRICS: dict[str, Spec] = {
    "kwa_database_up": Spec("1 when kwa's database could be read at this scrape, else 0.", ()),
    "kwa_collect_duration_seconds": Spec("Time this scrape spent reading kwa's database.", (), "seconds"),
    "kwa_runs": Spec("Retained runs of the cluster by state (retention deletes old runs).", ("cluster", "state")),
    "kwa_last_run_state": Spec(
        "1 for the state of the cluster's newest run (queued and running included), 0 for the others.",
        ("cluster", "state"),
    ),
    "kwa_last_run_timestamp_seconds": Spec(
        "When the cluster's newest finished run (any terminal state) finished, Unix time.", ("cluster",), "seconds"
    ),
    "kwa_last_run_duration_seconds": Spec("How long the cluster's newest finished run took.", ("cluster",), "seconds"),
    "kwa_last_success_timestamp_seconds": Spec(
        "When the cluster's newest completed run finished, Unix time (partial, failed and aborted runs do not count).",
        ("cluster",),
        "seconds",
    ),
    "kwa_scored_run_timestamp_seconds": Spec(
        "When the run the scores, coverage and findings come from (the newest completed or partial run) finished.",
        ("cluster",),
        "seconds",
    ),
    "kwa_run_score": Spec("Overall score of the scored run, 0-100; absent when incomplete.", ("cluster",)),
    "kwa_run_grade": Spec("Overall grade of the scored run as a number: A=6 B=5 C=4 D=3 E=2 F=1.", ("cluster",)),
    "kwa_run_coverage_ratio": Spec(
        "Share of the applicable checks the scored run evaluated, 0-1.", ("cluster",), "ratio"
    ),
    "kwa_score": Spec("Score of a pillar in the scored run, 0-100; absent when incomplete.", ("cluster", "pillar")),
    "kwa_grade": Spec(
        "Grade of a pillar in the scored run as a number: A=6 B=5 C=4 D=3 E=2 F=1.", ("cluster", "pillar")
    ),
    "kwa_coverage_ratio": Spec(
        "Share of a pillar's applicable checks the scored run evaluated, 0-1.", ("cluster", "pillar"), "ratio"
    ),
    "kwa_incomplete": Spec(
        "1 when a pillar's coverage is too low for a score or grade (docs/scoring.md), else 0.", ("cluster", "pillar")
    ),
    "kwa_findings": Spec(
        "Results of the scored run by pillar, check severity and result status (status=failing: the findings).",
        ("cluster", "pillar", "severity", "status"),
    ),
    "kwa_framework_score": Spec(
        "Score of a compliance framework in the scored run, 0-100 (docs/frameworks.md); absent when no "
        "control was evaluated.",
        ("cluster", "framework"),
    ),
    "kwa_framework_coverage_ratio": Spec(
        "Share of a framework's controls the scored run evaluated, 0-1 (controls kwa cannot assess count against it).",
        ("cluster", "framework"),
        "ratio",
    ),
    "kwa_framework_controls": Spec(
        "A framework's controls by status in the scored run (failed, warning, not-evaluated, passed, not-assessed).",
        ("cluster", "framework", "status"),
    ),
}


def gauge(name: str) -> GaugeMetricFamily:
    spec = METRICS[name]
    return GaugeMetricFamily(name, spec.help, labels=list(spec.labels), unit=spec.unit)


@dataclass
class ClusterView:
    """One cluster at one scrape: its run facts and the summary of its scored run (if any)."""

    facts: Any  # storage.run_facts.ClusterFacts
    summary: dict[str, Any] | None
    frameworks: list[Any] = field(default_factory=list)  # kwa.frameworks.FrameworkReport of the scored run


@dataclass
class Snapshot:
    database_up: bool
    clusters: list[ClusterView] = field(default_factory=list)
    seconds: float = 0.0


def scrape_families(s: Snapshot) -> Iterator[Metric]:
    up = gauge("kwa_database_up")
    up.add_metric([], 1.0 if s.database_up else 0.0)
    took = gauge("kwa_collect_duration_seconds")
    took.add_metric([], s.seconds)
    yield from (up, took)


def run_families(s: Snapshot) -> Iterator[Metric]:
    runs, state = gauge("kwa_runs"), gauge("kwa_last_run_state")
    last_at, last_took = gauge("kwa_last_run_timestamp_seconds"), gauge("kwa_last_run_duration_seconds")
    success, scored = gauge("kwa_last_success_timestamp_seconds"), gauge("kwa_scored_run_timestamp_seconds")
    for view in s.clusters:
        f, c = view.facts, view.facts.cluster_id
        for st in RUN_STATES:
            runs.add_metric([c, st], float(f.runs_by_state.get(st, 0)))
            state.add_metric([c, st], 1.0 if f.latest_state == st else 0.0)
        if f.last_finished is not None:
            last_at.add_metric([c], f.last_finished.finished_at.timestamp())
            if f.last_finished.duration_ms is not None:
                last_took.add_metric([c], f.last_finished.duration_ms / 1000)
        if f.last_success is not None:
            success.add_metric([c], f.last_success.finished_at.timestamp())
        if f.scored is not None:
            scored.add_metric([c], f.scored.finished_at.timestamp())
    yield from (runs, state, last_at, last_took, success, scored)


def _verdict(family: dict[str, GaugeMetricFamily], prefix: str, labels: list[str], entry: Any) -> None:
    """Score, grade and coverage of one scope (overall or a pillar) as stored."""
    if not isinstance(entry, dict):
        return
    if isinstance(entry.get("score"), int | float):
        family[f"{prefix}score"].add_metric(labels, float(entry["score"]))
    if entry.get("grade") in GRADE_VALUES:
        family[f"{prefix}grade"].add_metric(labels, float(GRADE_VALUES[entry["grade"]]))
    if isinstance(entry.get("coverage"), int | float):
        family[f"{prefix}coverage_ratio"].add_metric(labels, entry["coverage"] / 100)


def score_families(s: Snapshot) -> Iterator[Metric]:
    names = ("kwa_run_score", "kwa_run_grade", "kwa_run_coverage_ratio", "kwa_score", "kwa_grade")
    family = {n: gauge(n) for n in (*names, "kwa_coverage_ratio", "kwa_incomplete")}
    for view in s.clusters:
        scores = (view.summary or {}).get("scores") or {}
        c = view.facts.cluster_id
        _verdict(family, "kwa_run_", [c], scores.get("overall"))
        for pillar, entry in (scores.get("pillars") or {}).items():
            _verdict(family, "kwa_", [c, pillar], entry)
            if isinstance(entry, dict):
                family["kwa_incomplete"].add_metric([c, pillar], 1.0 if entry.get("incomplete") else 0.0)
    yield from family.values()


def finding_families(s: Snapshot) -> Iterator[Metric]:
    findings = gauge("kwa_findings")
    for view in s.clusters:
        if view.summary is None:
            continue
        c = view.facts.cluster_id
        # Every (pillar, severity, status) is present, zero included: an increase() over a series
        # that appears only with its first critical finding would never fire.
        counts = {(p, sev, st): 0 for p in view.summary["pillars"] for sev in SEVERITIES for st in STATUSES}
        for check in view.summary["checks"]:
            for st, n in check["counts"].items():
                key = (check["pillar"], check["severity"], st)
                counts[key] = counts.get(key, 0) + int(n)
        for (pillar, sev, st), n in counts.items():
            findings.add_metric([c, pillar, sev, st], float(n))
    yield findings


def framework_families(s: Snapshot) -> Iterator[Metric]:
    score, coverage = gauge("kwa_framework_score"), gauge("kwa_framework_coverage_ratio")
    controls = gauge("kwa_framework_controls")
    for view in s.clusters:
        c = view.facts.cluster_id
        for report in view.frameworks:
            name = report.framework.name
            if report.score is not None:
                score.add_metric([c, name], float(report.score))
            if report.coverage is not None:
                coverage.add_metric([c, name], report.coverage / 100)
            for status, n in report.counts.items():
                controls.add_metric([c, name, status], float(n))
    yield from (score, coverage, controls)


Family = Callable[[Snapshot], Iterable[Metric]]
FAMILIES: list[Family] = [scrape_families, run_families, score_families, finding_families, framework_families]


class KwaCollector(Collector):
    """Reads kwa's database at most once per ``cache_seconds``, whoever scrapes how often.

    ``open_db`` returns a :class:`storage.db.Database` (or raises when there is none yet: the
    scrape then says ``kwa_database_up 0`` rather than failing). ``cluster``: only that cluster's
    series, and none of the scrape's own (what one Pushgateway group holds).
    """

    def __init__(
        self,
        open_db: Callable[[], Any],
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cluster: str | None = None,
        families: list[Family] | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self._open_db = open_db
        self._db: Any = None
        self.cache_seconds = cache_seconds
        self.cluster = cluster
        self.families = list(FAMILIES if families is None else families)
        self._lock = threading.Lock()  # a scrape storm waits for one read instead of starting many
        self._cached: tuple[float, list[Metric]] | None = None
        self._summaries: dict[str, dict[str, Any]] = {}
        self._frameworks: dict[str, list[Any]] = {}  # run id -> its framework reports (finished runs never change)
        self.reads = 0  # database reads so far (tests, benchmarks)
        self.last_error: str | None = None  # why the last read failed (redacted)
        self._report = report  # told once per new reason (a server's log), never per scrape

    def describe(self) -> list[Metric]:
        return []  # registering never reads the database

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] >= self.cache_seconds:
                metrics = self._build()
                self._cached = (time.monotonic(), metrics)  # fresh from when the read ended
            metrics = self._cached[1]
        yield from metrics

    def snapshot(self) -> Snapshot:
        started = time.perf_counter()
        try:
            views = self._read()
        except Exception as exc:  # any database trouble is "down", never a failed scrape
            reason = _describe(exc)
            if self._report is not None and reason != self.last_error:
                self._report(f"kwa_database_up is 0: cannot read kwa's database: {reason}")
            self.last_error = reason
            return Snapshot(False, [], time.perf_counter() - started)
        if self._report is not None and self.last_error is not None:
            self._report("kwa's database is readable again")
        self.last_error = None
        return Snapshot(True, views, time.perf_counter() - started)

    def _build(self) -> list[Metric]:
        snap = self.snapshot()
        out: list[Metric] = []
        for family in self.families:
            out.extend(family(snap))
        if self.cluster is not None:  # a push group: cluster series only
            out = [m for m in out if "cluster" in METRICS.get(m.name, Spec("", ("cluster",))).labels]
        return out

    def _read(self) -> list[ClusterView]:
        from storage.run_facts import cluster_facts
        from storage.summary import run_summary

        if self._db is None:
            self._db = self._open_db()
        self.reads += 1
        views = []
        for facts in cluster_facts(self._db, self.cluster):
            summary, frameworks = None, []
            if facts.scored is not None:
                rid = facts.scored.run_id
                summary = self._summaries.get(rid)
                if summary is None:
                    summary = run_summary(self._db, rid)
                    self._summaries[rid] = summary
                if rid not in self._frameworks:
                    self._frameworks[rid] = framework_reports(self._db, rid)
                frameworks = self._frameworks[rid]
            views.append(ClusterView(facts, summary, frameworks))
        if len(self._summaries) > _SUMMARIES_KEPT:
            shown = {v.summary["run"]["run_id"] for v in views if v.summary}
            self._summaries = {k: v for k, v in self._summaries.items() if k in shown}
            self._frameworks = {k: v for k, v in self._frameworks.items() if k in shown}
        return views

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


def framework_reports(db: Any, run_id: str) -> list[Any]:
    """Every shipped framework's report on one run: one GROUP BY for the run, then arithmetic."""
    from kwa.frameworks import assess, load_all
    from kwa.frameworks.runs import run_outcomes

    _, outcomes = run_outcomes(db, run_id)
    return [assess(framework, outcomes) for framework in load_all()]


def _describe(exc: Exception) -> str:
    from redaction import redact

    return redact(f"{type(exc).__name__}: {exc}")
