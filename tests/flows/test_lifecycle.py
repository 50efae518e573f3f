"""Run lifecycle through the real Prefect engine and server: dedup, slots, abort, rerun/resume,
phases, watch, reaper, retention, logs (seeds 000, 002, 003, 004)."""

from __future__ import annotations

import io
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.registry import load_all
from tests.run_rows import statuses_by_check

pytestmark = pytest.mark.prefect


def _request(db, manifests: Path, checks: list[str], cluster: str = "lifecycle", force_new: bool = False):  # type: ignore[no-untyped-def]
    from checks.sources.resolve import SourceSpec
    from flows.admission import request_run, run_parameters

    spec = SourceSpec("manifests", paths=[str(manifests)])
    return request_run(
        db,
        selected=load_all().select(None, checks),
        pillars=None,
        checks=checks,
        cluster_id=cluster,
        source=spec.describe(),
        trigger="manual",
        parameters=run_parameters(spec, None, checks, 30.0, 600.0, None),
        force_new=force_new,
    )


def _execute(db, run, **kw) -> None:  # type: ignore[no-untyped-def]
    from flows.settle import execute

    execute(db, run["run_id"], {**run["parameters"], **kw}, cluster_id=run["cluster_id"], trigger="manual")


def test_identical_requests_give_one_run(prefect_api, manifests) -> None:
    from storage.db import Database
    from storage.runs import abort_run

    db = Database()
    first, created = _request(db, manifests, ["SEC-001"], cluster="dedup")
    second, created_again = _request(db, manifests, ["SEC-001"], cluster="dedup")
    assert created and not created_again
    assert second["run_id"] == first["run_id"]
    forced, forced_created = _request(db, manifests, ["SEC-001"], cluster="dedup", force_new=True)
    assert forced_created and forced["run_id"] != first["run_id"]
    other, other_created = _request(db, manifests, ["SEC-002"], cluster="dedup")
    assert other_created
    for run in (first, forced, other):
        abort_run(db, run["run_id"], "test cleanup")
    # Once the first is terminal, the same request starts a new run.
    again, again_created = _request(db, manifests, ["SEC-001"], cluster="dedup")
    assert again_created and again["run_id"] != first["run_id"]
    abort_run(db, again["run_id"], "test cleanup")


def test_racing_identical_requests_give_one_run(prefect_api, manifests) -> None:
    from storage.db import Database
    from storage.runs import abort_run

    db = Database()
    results: list = []
    barrier = threading.Barrier(4)

    def request() -> None:
        barrier.wait()
        results.append(_request(db, manifests, ["SEC-003"], cluster="race"))

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({run["run_id"] for run, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    abort_run(db, results[0][0]["run_id"], "test cleanup")


def test_at_most_n_runs_at_once_and_one_per_cluster(prefect_api, manifests, bad_checks, monkeypatch) -> None:
    """Five clusters with a global limit of 3, plus a second run on one cluster: timestamps prove it."""
    from storage.db import Database
    from storage.runs import get_run

    monkeypatch.setenv("KWA_MAX_CONCURRENT_RUNS", "3")
    db = Database()
    runs = [_request(db, manifests, ["SEC-906"], cluster=f"limit-{i}")[0] for i in range(5)]
    runs.append(_request(db, manifests, ["SEC-906"], cluster="limit-0", force_new=True)[0])
    threads = [threading.Thread(target=_execute, args=(db, run)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    final = [get_run(db, r["run_id"]) for r in runs]
    assert [r["state"] for r in final] == ["completed"] * 6
    spans = [(r["started_at"], r["completed_at"]) for r in final]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak <= 3, f"{peak} runs were running at once"
    (a0, a1), (b0, b1) = spans[0], spans[5]  # the two runs of cluster limit-0 never overlap
    assert a1 <= b0 or b1 <= a0
    # Queued runs start in the order they were requested (Prefect's limits alone do not promise it).
    assert max(s for s, _ in spans[:3]) <= min(s for s, _ in spans[3:5])
    assert a0 <= b0


def test_abort_mid_run_keeps_finished_results(prefect_api, manifests, bad_checks) -> None:
    from flows import control
    from storage.db import Database
    from storage.runs import get_run

    db = Database()
    run, _ = _request(db, manifests, ["SEC-905", "SEC-901"], cluster="abort-me")
    worker = threading.Thread(target=_execute, args=(db, run), kwargs={"check_timeout": 60.0})
    worker.start()
    deadline = time.monotonic() + 30
    while "SEC-905" not in statuses_by_check(run["run_id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "SEC-905" in statuses_by_check(run["run_id"]), "the quick check never finished"
    aborted_at = time.monotonic()
    control.abort(db, run["run_id"])
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert time.monotonic() - aborted_at < 10
    final = get_run(db, run["run_id"])
    assert final["state"] == "aborted"
    assert statuses_by_check(run["run_id"]) == {"SEC-905": ["passing"]}  # SEC-901 never finished: no result
    with pytest.raises(control.ControlError, match="terminal runs never change"):
        control.abort(db, run["run_id"])


def test_a_queued_run_can_be_aborted_before_it_starts(prefect_api, manifests) -> None:
    from flows import control
    from storage.db import Database
    from storage.runs import get_run

    db = Database()
    run, _ = _request(db, manifests, ["SEC-001"], cluster="abort-queued")
    control.abort(db, run["run_id"])
    _execute(db, run)  # a runner picking it up later finds it aborted and does nothing
    final = get_run(db, run["run_id"])
    assert final["state"] == "aborted" and final["started_at"] is None
    assert statuses_by_check(run["run_id"]) == {}


def test_rerun_and_resume_create_linked_runs(prefect_api, manifests, bad_checks) -> None:
    from flows import control
    from kwa.app import call as main
    from storage.db import Database
    from storage.runs import get_run, list_runs

    db = Database()
    run, _ = _request(db, manifests, ["SEC-903", "SEC-905"], cluster="again")
    _execute(db, run)
    assert get_run(db, run["run_id"])["state"] == "partial"
    _, owed = control.rerun_parameters(db, run["run_id"], only_unfinished=True)
    assert owed == ["SEC-903"]

    assert main(["runs", "resume", run["run_id"], "-o", "json"]) == 4  # SEC-903 raises again: every check errored
    resumed = next(r for r in list_runs(db, cluster_id="again") if r["resume_of"] == run["run_id"])
    assert resumed["check_ids"] == ["SEC-903"] and resumed["scope"] == "single"

    main(["runs", "rerun", run["run_id"]])
    rerun = next(r for r in list_runs(db, cluster_id="again") if r["rerun_of"] == run["run_id"])
    assert sorted(rerun["check_ids"]) == ["SEC-903", "SEC-905"]
    assert get_run(db, run["run_id"])["state"] == "partial"  # the original never reopens


def test_a_rerun_from_elsewhere_reads_the_files_the_run_named(prefect_api, manifests, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``kwa run --manifests app.yaml`` in one directory, ``kwa runs rerun`` in another (another
    shell, or kwa serve's process): the rerun reads the same app.yaml, not whatever that name means
    where it runs (before: "manifest path not found", or another file of the same name)."""
    from checks.sources.resolve import SourceSpec
    from checks.sources.resolve import manifests as named_here
    from flows.admission import request_run, run_parameters
    from kwa.app import call as main
    from storage.db import Database
    from storage.runs import get_run, list_runs

    monkeypatch.chdir(manifests.parent)
    spec = named_here(["app.yaml"])
    assert spec.to_dict()["base"] == str(manifests.parent) and spec.paths_here() == ["app.yaml"]
    db = Database()
    run, _ = request_run(
        db, selected=load_all().select(None, ["SEC-001"]), pillars=None, checks=["SEC-001"], cluster_id="moved",
        source=spec.describe(), trigger="manual",
        parameters=run_parameters(spec, None, ["SEC-001"], 30.0, 600.0, None),
    )  # fmt: skip
    _execute(db, run)
    assert get_run(db, run["run_id"])["state"] == "completed"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "app.yaml").write_text("kind: NotAnObject\n")  # the same name, another file
    monkeypatch.chdir(elsewhere)
    assert SourceSpec.from_dict(spec.to_dict()).paths_here() == [str(manifests.parent / "app.yaml")]
    # a kubeconfig named by a relative path likewise; "-" and "~" are never joined
    live = SourceSpec.from_dict({**spec.to_dict(), "kind": "live", "kubeconfig": "kc.yaml", "paths": ["-", "~/x"]})
    assert live.kubeconfig_here() == str(manifests.parent / "kc.yaml") and live.paths_here() == ["-", "~/x"]
    assert main(["runs", "rerun", run["run_id"], "-o", "json"]) == 0
    rerun = next(r for r in list_runs(db, cluster_id="moved") if r["rerun_of"] == run["run_id"])
    assert rerun["state"] == "completed"
    assert statuses_by_check(rerun["run_id"]) == statuses_by_check(run["run_id"])


def test_phases_watch_and_logs(prefect_api, manifests) -> None:
    from rich.console import Console

    from flows import control
    from kwa.commands.runs import watch_run
    from storage.db import Database
    from storage.enums import is_terminal
    from storage.phases import phases
    from storage.runs import get_run

    db = Database()
    run, _ = _request(db, manifests, ["SEC-001"], cluster="phases")
    _execute(db, run)
    final = get_run(db, run["run_id"])
    assert is_terminal(final["state"])
    names = [name for name, _ in phases(final)]
    assert names == ["queued", "waiting", "initializing", "running", "completed"]
    stamps = [t for _, t in phases(final)]
    assert stamps == sorted(stamps)

    out = io.StringIO()
    ended = watch_run(db, run["run_id"], console=Console(file=out, width=120, force_terminal=False))
    assert ended["state"] == "completed"
    assert "security" in out.getvalue() and "1/1" in out.getvalue()

    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    run_log = list(control.logs(db, run["run_id"], verbose=True))  # every line, Prefect's own included
    assert any("snapshot:" in r["message"] for r in run_log)
    check_log = list(control.logs(db, run["run_id"], "SEC-001", verbose=True))
    assert check_log and all("snapshot:" not in r["message"] for r in check_log)


def test_reaper_fails_runs_whose_runner_is_gone(prefect_api, manifests) -> None:
    from flows import control
    from storage.db import Database
    from storage.phases import set_phase
    from storage.runs import get_run, start_run

    db = Database()
    dead = _request(db, manifests, ["SEC-001"], cluster="reap-dead", force_new=True)[0]
    start_run(db, dead["run_id"])
    set_phase(db, dead["run_id"], "running", runner=f"{socket.gethostname()}:{_dead_pid()}")
    gone = _request(db, manifests, ["SEC-001"], cluster="reap-gone", force_new=True)[0]
    start_run(db, gone["run_id"], prefect_flow_run_id=str(uuid.uuid4()))
    fresh = _request(db, manifests, ["SEC-001"], cluster="reap-fresh", force_new=True)[0]

    reaped = dict(control.reap(db, grace=timedelta(minutes=10)))
    assert get_run(db, dead["run_id"])["state"] == "failed"
    assert "runner lost" in get_run(db, dead["run_id"])["error"]
    assert get_run(db, gone["run_id"])["state"] == "failed"
    assert fresh["run_id"] not in reaped and get_run(db, fresh["run_id"])["state"] == "queued"
    later = control.reap(db, grace=timedelta(0))
    assert fresh["run_id"] in dict(later)


def _dead_pid() -> int:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_delete_and_prune(prefect_api, manifests) -> None:
    from storage.db import Database
    from storage.retention import delete_run, prune_runs
    from storage.runs import abort_run, get_history, get_run

    db = Database()
    old, _ = _request(db, manifests, ["SEC-001"], cluster="retention", force_new=True)
    _execute(db, old)
    keep, _ = _request(db, manifests, ["SEC-001"], cluster="retention", force_new=True)
    _execute(db, keep)
    assert prune_runs(db, timedelta(days=90)) == [] or old["run_id"] not in prune_runs(db, timedelta(days=90))
    removed = prune_runs(db, timedelta(0), now=datetime.now(UTC) + timedelta(seconds=1))
    assert old["run_id"] in removed and keep["run_id"] in removed
    assert get_run(db, old["run_id"]) is None and get_history(db, old["run_id"]) is None
    assert statuses_by_check(old["run_id"]) == {}
    active, _ = _request(db, manifests, ["SEC-001"], cluster="retention-active", force_new=True)
    with pytest.raises(ValueError, match="abort it before deleting it"):
        delete_run(db, active["run_id"])
    # Ended here: a queued run left behind would hold every later run of this test process in
    # the queue (runs start in request order) until the reaper's grace passes.
    abort_run(db, active["run_id"], "test cleanup")
