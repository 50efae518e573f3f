"""History and diffs compare like with like: one cluster, one scope (storage.history, storage.scopes),
and a run that assessed nothing says so (storage.assessed). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.assessed import nothing_assessed
from storage.db import Database
from storage.history import (
    ClusterChoice,
    Incomparable,
    NothingToCompare,
    cluster_history,
    diff_runs,
    pick_pair,
    require_comparable,
)
from storage.queries import NoRuns, run_detail
from storage.results import ResultWriter
from storage.runs import fail_run, finish_run, get_run
from storage.scopes import ANY, FULL, Scope, ScopeError
from tests.storage.helpers import check, new_run, row

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def finished(
    db: Database,
    cluster: str,
    at: datetime,
    *,
    scope: str = "full",
    pillars: list[str] | None = None,
    checks: list[str] | None = None,
    failing: int = 0,
    state: str = "completed",
    objects: int = 3,
    problems: list[str] | None = None,
) -> str:
    run_id = new_run(
        db,
        cluster_id=cluster,
        scope=scope,
        pillars=pillars if pillars is not None else ["security"],
        check_ids=checks or ["SEC-001"],
        requested_at=at,
    )
    if state == "failed":
        fail_run(db, run_id, "cluster unreachable")
        return run_id
    with ResultWriter(db, run_id) as writer:
        rows = [row("failing", i) for i in range(failing)] + [row("passing", 100 + i) for i in range(2)]
        writer.add(check(), rows, at + timedelta(seconds=1), 5)
    facts = {"objects": objects, "snapshot": "manifests: <stdin>", "problems": problems or [], "unavailable": {}}
    finish_run(db, run_id, state, summary=facts)
    return run_id


def test_scope_labels_parse_back_and_compare_what_was_assessed() -> None:
    assert Scope.of_run({"scope": "full", "pillars": ["cost"], "check_ids": ["X-1"]}) == FULL
    pillar = Scope.of_run({"scope": "pillar", "pillars": ["reliability", "security"]})
    assert pillar.label == "pillar:security,reliability"  # catalogue order, as everywhere else
    assert Scope.parse("Pillar: reliability , security") == pillar
    single = Scope.of_run({"scope": "single", "check_ids": ["SEC-001"]})
    custom = Scope.of_run({"scope": "custom", "check_ids": ["SEC-004", "SEC-001"]})
    assert single.label == "check:SEC-001" and custom.label == "check:SEC-001,SEC-004"
    assert Scope.parse("checks:sec-004,SEC-001") == custom
    assert Scope.parse("any") == ANY and ANY.matches(custom) and not FULL.matches(single)
    for bad in ("", "everything", "pillar:", "pillar:securty", "full:SEC-001", "check"):
        with pytest.raises(ScopeError, match="--scope"):
            Scope.parse(bad)


def test_history_keeps_to_one_scope_and_counts_the_others(db: Database) -> None:
    full = [finished(db, "shop", T0 + timedelta(days=d), failing=d) for d in range(3)]
    spike = finished(db, "shop", T0 + timedelta(days=1, hours=2), scope="single", checks=["SEC-001"])
    pillar = finished(db, "shop", T0 + timedelta(days=4), scope="pillar", pillars=["security"])
    finished(db, "other", T0 + timedelta(days=5))

    found = cluster_history(db, "shop")
    assert found.scope == FULL and found.chosen == "full runs"
    assert [r["run_id"] for r in found.rows] == full  # oldest first, the --check run not among them
    assert {r["scope"] for r in found.rows} == {"full"}
    assert found.other_scopes == {"check:SEC-001": 1, "pillar:security": 1}

    only = cluster_history(db, "shop", scope=Scope.parse("check:SEC-001"))
    assert [r["run_id"] for r in only.rows] == [spike] and only.other_scopes == {"full": 3, "pillar:security": 1}
    everything = cluster_history(db, "shop", scope=ANY)
    assert len(everything.rows) == 5 and everything.other_scopes == {}
    assert [r["run_id"] for r in cluster_history(db, "shop", limit=2).rows] == full[1:]  # the newest two
    later = cluster_history(db, "shop", since=datetime.now(UTC) + timedelta(days=1))
    assert later.rows == [] and later.scope == FULL and later.other_scopes == {}
    assert pillar in [r["run_id"] for r in cluster_history(db, "shop", scope=Scope.parse("pillar:security")).rows]


def test_history_without_full_runs_follows_the_latest_runs_scope(db: Database) -> None:
    finished(db, "sec", T0, scope="pillar", pillars=["security"])
    latest = finished(db, "sec", T0 + timedelta(hours=1), scope="single", checks=["SEC-001"])
    found = cluster_history(db, "sec")
    assert found.scope.label == "check:SEC-001" and found.chosen == "the latest run's"
    assert [r["run_id"] for r in found.rows] == [latest]


def test_history_without_a_cluster_asks_which_when_there_are_several(db: Database) -> None:
    with pytest.raises(NoRuns):
        cluster_history(db)
    finished(db, "only", T0)
    assert cluster_history(db).cluster_id == "only"
    finished(db, "github.com/org/repo:k8s", T0 + timedelta(hours=1), scope="single", checks=["SEC-001"])
    with pytest.raises(ClusterChoice) as caught:
        cluster_history(db)
    clusters = caught.value.clusters
    assert [c["cluster_id"] for c in clusters] == ["github.com/org/repo:k8s", "only"]  # latest first
    assert clusters[0]["scope"] == "check:SEC-001" and clusters[1]["runs"] == 1
    text = str(caught.value)
    assert "name one with --cluster ID" in text and "github.com/org/repo:k8s  1 run  latest run_" in text


def test_diff_picks_the_latest_two_like_runs(db: Database) -> None:
    old = finished(db, "shop", T0, failing=1)
    finished(db, "shop", T0 + timedelta(hours=1), state="failed")  # no results: not comparable
    new = finished(db, "shop", T0 + timedelta(hours=2), failing=2)
    finished(db, "other", T0 + timedelta(hours=3))  # another cluster, newer
    check_run = finished(db, "shop", T0 + timedelta(hours=4), scope="single", checks=["SEC-001"])

    a, b, how = pick_pair(db, "shop", FULL)
    assert (a["run_id"], b["run_id"]) == (old, new) and how == "the latest two finished full runs of cluster shop"
    with pytest.raises(NothingToCompare, match=r"one completed or partial check:SEC-001 run .*other scopes: full ×2"):
        pick_pair(db, "shop")  # the latest run is the --check one: nothing like it before
    a, b, how = pick_pair(db, "shop", ANY)
    assert (a["run_id"], b["run_id"]) == (new, check_run) and "runs of cluster shop" in how
    with pytest.raises(NothingToCompare, match="cluster other has one completed or partial full run"):
        pick_pair(db, "other")

    diff = diff_runs(db, old, new)
    assert diff["compared"] == {"cluster_id": "shop", "clusters": ["shop", "shop"], "scope": "full",
                                "scopes": ["full", "full"]}  # fmt: skip
    assert diff["counts"]["new_failures"] == 1 and diff["counts"]["still_failing"] == 1


def test_unlike_runs_are_refused_unless_allowed(db: Database) -> None:
    full = get_run(db, finished(db, "shop", T0))
    single = get_run(db, finished(db, "shop", T0 + timedelta(hours=1), scope="single", checks=["SEC-001"]))
    elsewhere = get_run(db, finished(db, "corpus", T0 + timedelta(hours=2)))
    assert full and single and elsewhere
    with pytest.raises(Incomparable, match=r"\(full\) and .* \(check:SEC-001\) assessed different scopes.*--any-scope"):
        require_comparable(full, single)
    require_comparable(full, single, any_scope=True)
    with pytest.raises(Incomparable, match=r"different clusters \('shop' and 'corpus'\).*--any-cluster"):
        require_comparable(full, elsewhere, any_scope=True)
    require_comparable(full, elsewhere, any_cluster=True)


def test_a_run_over_nothing_says_so(db: Database) -> None:
    empty = finished(db, "stdin", T0, objects=0, problems=["<stdin>: no Kubernetes objects: the input is empty"])
    run = get_run(db, empty)
    assert run is not None
    assert nothing_assessed(run) == "manifests: <stdin>: no Kubernetes objects: the input is empty"
    # objects read, none judged: every result skipped
    judged_none = {"state": "completed", "summary": {"objects": 4, "snapshot": "manifests: cm/"}}
    assert nothing_assessed(judged_none, {"skipped": 7}) == (
        "manifests: cm/: 4 objects read, but no check judged any of them (its 7 results: 7 skipped)"
    )
    assert nothing_assessed(judged_none, {"passing": 1}) is None
    assert nothing_assessed({**judged_none, "state": "failed"}, {}) is None  # failed keeps its own outcome
    # partial: its errors say why nothing was judged (exit 3) — unless there was no object at all
    assert nothing_assessed({**judged_none, "state": "partial"}, {"error": 2}) is None
    assert nothing_assessed({"state": "partial", "summary": {"objects": 0, "snapshot": "live cluster c"}}) == (
        "live cluster c: no objects listed: the cluster holds none of the kinds kwa reads"
    )
    assert nothing_assessed({"state": "completed", "summary": {}}, {}) is None  # no facts: nothing to say
    quarantined = {"state": "completed", "summary": {"objects": 0, "malformed": {"count": 2}}}
    assert "all 2 objects read were quarantined" in (nothing_assessed(quarantined) or "")

    detail = run_detail(db, empty)
    assert detail["warnings"][0].startswith("nothing was assessed: ") and detail["warning_indicator"]


def test_a_fix_is_found_when_the_check_names_the_container_only_when_it_fails(db: Database) -> None:
    """SEC-001 fails on Deployment/app-0 naming container ``app`` and passes on it naming none."""
    runs = []
    for at, status, container in ((T0, "failing", "app"), (T0 + timedelta(hours=1), "passing", None)):
        run_id = new_run(db, cluster_id="shop", requested_at=at)
        with ResultWriter(db, run_id) as writer:
            writer.add(check(), [row(status, 0, container=container), row("failing", 1)], at, 5)
        finish_run(db, run_id, "completed", summary={"objects": 2})
        runs.append(run_id)
    diff = diff_runs(db, *runs)
    assert [(d["object_name"], d["before"], d["after"]) for d in diff["fixed"]] == [("app-0", "failing", "passing")]
    assert [d["object_name"] for d in diff["still_failing"]] == ["app-1"]
    assert diff["results_disappeared"] == [] and diff["new_failures"] == [] and diff["objects_disappeared"] == []
    back = diff_runs(db, runs[1], runs[0])  # and the other way: a new failure, not a new key beside an old one
    new = [(d["object_name"], d["before"], d["after"]) for d in back["new_failures"]]
    assert new == [("app-0", "passing", "failing")]
    assert back["changed"] == [] and back["results_disappeared"] == []
