"""Agreement with the peers: the consensus checks against hand-written verdicts on the real-world corpus.

The catalogue's consensus checks (an equivalent in at least 4 of the 7 peer scanners) are where users
compare us with Polaris, kube-score, Checkov, kube-linter, Kubescape, Trivy and Popeye first. Every
project of ``../shared/corpus`` is assessed as one manifest run; for a sample of objects the verdict the
catalogue's rule gives, worked out by hand from the YAML, is recorded in ``peer_expectations.yaml``.
The test reports every disagreement with the object and both verdicts. Where kwa deliberately decides
differently from a peer, ``docs/peer-differences.md`` says so; the expectations follow kwa's catalogue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.config import Config
from checks.context import CheckContext
from checks.model import CheckDefinition, Result, Status
from checks.registry import load_all
from checks.sources.manifests import load_manifests

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
EXPECTATIONS = Path(__file__).with_name("peer_expectations.yaml")

# Catalogue §2 "Peers" ≥ 4 (§2.8: SEC 21, REL 6, PERF 4, OPS 5).
CONSENSUS = (
    "SEC-001", "SEC-002", "SEC-003", "SEC-004", "SEC-006", "SEC-007", "SEC-008", "SEC-009", "SEC-010",
    "SEC-011", "SEC-012", "SEC-013", "SEC-014", "SEC-017", "SEC-018", "SEC-022", "SEC-023", "SEC-026",
    "SEC-027", "SEC-028", "SEC-029",
    "REL-001", "REL-002", "REL-004", "REL-012", "REL-013", "REL-014",
    "PERF-001", "PERF-002", "PERF-003", "PERF-004",
    "OPS-001", "OPS-004", "OPS-005", "OPS-008", "OPS-009",
)  # fmt: skip
# PDB matching is where Polaris (anyOf matchLabels) and kube-score (full selector) disagree; REL-007 has
# three peers, so it is outside the consensus set but its cases are checked too. So are the checks whose
# semantics go past their peers': anti-affinity namespaces (REL-011, 3 peers), referenced keys (REL-015,
# 3 peers) and the StatefulSet's governing Service (REL-019, kube-score).
EXTRA = ("REL-007", "REL-011", "REL-015", "REL-019")
SCANNERS = ("polaris", "kube-score", "checkov", "kube-linter", "kubescape", "trivy", "popeye")
# How an object's rows combine into one verdict: the most severe outcome wins.
SEVERITY_ORDER = (Status.ERROR, Status.FAILING, Status.WARNING, Status.PASSING, Status.SKIPPED, Status.TIMEOUT)
NONE = "none"

Key = tuple[str, str, str]  # (file relative to the corpus, kind, name)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not available next to this checkout")


def _expectations() -> list[dict[str, Any]]:
    return yaml.safe_load(EXPECTATIONS.read_text(encoding="utf-8"))["objects"]


def _checks() -> list[CheckDefinition]:
    registry = load_all()
    return [registry.by_id(check_id) for check_id in (*CONSENSUS, *EXTRA)]


def _file_of(source: str | None) -> str:
    path = (source or "").rsplit("#", 1)[0]
    try:
        return Path(path).resolve().relative_to(CORPUS.resolve()).as_posix()
    except ValueError:
        return path


class CorpusRun:
    """Every consensus check evaluated once on every corpus project (one manifest run per project)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, Key], list[Result]] = defaultdict(list)
        self.objects: set[Key] = set()
        self.problems: list[str] = []
        self.crashes: list[str] = []
        self.projects = sorted(p for p in CORPUS.iterdir() if p.is_dir())
        checks = _checks()
        for project in self.projects:
            snap = load_manifests([str(project)])
            self.problems += [str(p) for p in snap.problems]
            self.objects.update((_file_of(o.where), o.kind, o.name) for o in snap.objects)
            for check in checks:
                # The rule itself, without the exemption layer: system-namespace defaults would turn
                # kube-system objects into skips and hide exactly what this test compares.
                try:
                    results = list(check.func(CheckContext(snap, Config(), check)))
                except Exception as exc:  # reported, with the project, by test_every_project_evaluates
                    self.crashes.append(f"{check.id} on {project.name}: {type(exc).__name__}: {exc}")
                    continue
                for r in results:
                    self.rows[(check.id, (_file_of(r.source), r.kind or "", r.name or ""))].append(r)


@pytest.fixture(scope="module")
def run() -> CorpusRun:
    return CorpusRun()


def _verdict(rows: Iterable[Result]) -> Status | None:
    statuses = {r.status for r in rows}
    return next((s for s in SEVERITY_ORDER if s in statuses), None)


def _describe(rows: list[Result]) -> str:
    if not rows:
        return "no result"
    shown = "; ".join(f"{r.status.value}: {r.message}" if r.message else r.status.value for r in rows[:3])
    return shown + (f" (+{len(rows) - 3} more rows)" if len(rows) > 3 else "")


def _compare(want: str, rows: list[Result]) -> str | None:
    """None when ``rows`` give the expected verdict, else what kwa said instead."""
    if want == NONE:
        return None if not rows else _describe(rows)
    got = _verdict(rows)
    return None if got is not None and got.value == want else _describe(rows)


def test_every_project_evaluates_without_parse_problems_or_errors(run: CorpusRun) -> None:
    assert len(run.projects) >= 10, f"expected the full corpus, found {len(run.projects)} projects"
    assert not run.problems, "corpus documents that did not parse:\n" + "\n".join(run.problems)
    assert not run.crashes, "checks that raised on the corpus:\n" + "\n".join(run.crashes)
    errors = [
        f"{check_id} {key[0]} {key[1]}/{key[2]}: {r.message}"
        for (check_id, key), rows in run.rows.items()
        for r in rows
        if r.status is Status.ERROR
    ]
    assert not errors, "consensus checks returned errors on the corpus:\n" + "\n".join(errors)


def test_verdicts_agree_with_hand_written_expectations(run: CorpusRun) -> None:
    disagreements: list[str] = []
    compared = 0
    for entry in _expectations():
        key: Key = (entry["file"], entry["kind"], entry["name"])
        where = f"{key[0]} {key[1]}/{key[2]}"
        if key not in run.objects:
            disagreements.append(f"{where}: no such object in the corpus (fix peer_expectations.yaml)")
            continue
        why = " ".join(str(entry.get("why") or "").split())
        for check_id, want in entry["expect"].items():
            rows = run.rows.get((check_id, key), [])
            per_container = want.items() if isinstance(want, dict) else [(None, want)]
            for container, expected in per_container:
                selected = rows if container is None else [r for r in rows if r.container == container]
                compared += 1
                got = _compare(expected, selected)
                if got is not None:
                    label = f"{where}" + (f" [{container}]" if container else "")
                    disagreements.append(
                        f"{check_id} {label}: kwa says {got!r}; the rule by hand says {expected}"
                        + (f" ({why})" if why else "")
                    )
    assert compared > 0
    assert not disagreements, (
        f"{len(disagreements)} of {compared} verdicts disagree with the hand-written expectations:\n"
        + "\n".join(disagreements)
    )


def test_expectations_cover_the_consensus_checks_broadly() -> None:
    entries = _expectations()
    objects = {(e["file"], e["kind"], e["name"]) for e in entries}
    projects = {e["file"].split("/", 1)[0] for e in entries}
    assert len(objects) == len(entries), "an object is listed twice in peer_expectations.yaml"
    assert len(objects) >= 40, f"only {len(objects)} objects have expectations (need at least 40)"
    assert len(projects) >= 10, f"expectations cover only {len(projects)} corpus projects (need at least 10)"
    used = {check_id for e in entries for check_id in e["expect"]}
    assert used <= set(CONSENSUS) | set(EXTRA), f"not a consensus check: {sorted(used - set(CONSENSUS) - set(EXTRA))}"
    assert not set(CONSENSUS) - used, f"consensus checks without any expectation: {sorted(set(CONSENSUS) - used)}"
    statuses: set[str] = set()
    for e in entries:
        for want in e["expect"].values():
            statuses.update(want.values() if isinstance(want, dict) else [want])
    assert {"passing", "failing", "warning", "skipped", NONE} <= statuses, f"verdicts used: {sorted(statuses)}"


def test_consensus_list_matches_the_registered_peer_ids() -> None:
    """The hard-coded list is the catalogue's; the registry's peer metadata must say the same."""
    derived = [
        c.id for c in load_all().all() if sum(1 for tool, ids in c.peers.items() if tool in SCANNERS and ids) >= 4
    ]
    assert sorted(derived) == sorted(CONSENSUS)
