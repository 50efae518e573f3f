"""bench.treeprofile adds py-spy's samples up per process role and thread, as a run is built."""

from __future__ import annotations

from pathlib import Path

from bench.treeprofile import markdown, parse_raw, summarise, thread_name

ROOT = 'process 100:"python -m kwa run --manifests d.json"'
LANE = 'process 200:"python -m kwa run --manifests d.json"'
INDEX = 'process 300:"python -m kwa run --manifests d.json"'
W = "/work/main"


def _raw(tmp_path: Path) -> Path:
    lines = [
        # the parent's main thread reading, then its writer thread inserting rows
        f"{ROOT};thread (100): MainThread;<module> ({W}/flows/run.py:21);read_snapshot ({W}/flows/steps.py:244);"
        f"loads (/venv/lib/python3.11/site-packages/orjson.py:1) 30",
        f"{ROOT};thread (100);<module> ({W}/flows/run.py:21);evaluate ({W}/flows/steps.py:270) 10",
        f"{ROOT};thread (101): kwa-writer-run_20261207_074600_cf32cd;_loop ({W}/storage/background_writer.py:80);"
        f"add_json ({W}/storage/results.py:267) 50",
        # a lane evaluating a check, and an index builder, both forked children of the parent
        f"{ROOT};{LANE};thread (200): Thread-1 (_manage);IsolatedBatch._manage ({W}/checks/sandbox.py:269);"
        f"evaluate ({W}/checks/runner.py:40);capabilities_not_dropped ({W}/checks/security/capabilities.py:60) 40",
        f"{ROOT};{INDEX};thread (300): kwa-index;Pending._run ({W}/checks/offload.py:40);"
        f"run_with_deadline ({W}/checks/sandbox.py:63);_build_refs ({W}/checks/cost/references.py:9) 20",
        "not a stack line",
    ]
    path = tmp_path / "raw.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_samples_are_added_up_per_process_role_and_thread(tmp_path: Path) -> None:
    summary = summarise(parse_raw(_raw(tmp_path)), rate=10)
    threads = {(t["process"], t["thread"]): t["active_s"] for t in summary["threads"]}
    assert threads == {
        ("parent", "kwa-writer"): 5.0,
        ("parent", "MainThread"): 4.0,  # the named and the bare main-thread frames are one thread
        ("lane", "_manage"): 4.0,
        ("index builder", "kwa-index"): 2.0,
    }
    lane = summary["frames"]["lane / _manage"]
    assert lane["leaf_s"] == {"capabilities_not_dropped (security/capabilities.py)": 4.0}
    main = summary["frames"]["parent / MainThread"]["own_code_inclusive_s"]
    # the entry point covers the whole thread and is left out; library frames are not kwa's code
    assert main == {"read_snapshot (flows/steps.py)": 3.0, "evaluate (flows/steps.py)": 1.0}


def test_thread_names_lose_run_ids_and_pool_numbers() -> None:
    assert thread_name("thread (1888): kwa-writer-run_20261207_073702_00019f") == "kwa-writer"
    assert thread_name("thread (1894): kwa-pillars_0") == "kwa-pillars"
    assert thread_name("thread (1892): Thread-2 (_manage)") == "_manage"
    assert thread_name("thread (7): concurrency-lease-renewal-d153872f-c5b9-4eaf-ac54-8a0602bdebad") == (
        "concurrency-lease-renewal"
    )
    assert thread_name("thread (1870)", "1870") == "MainThread"
    assert thread_name("thread (1879)", "1870") == "unnamed"


def test_the_report_names_every_busy_thread(tmp_path: Path) -> None:
    summary = summarise(parse_raw(_raw(tmp_path)), rate=10)
    server = summarise([(f"{ROOT};thread (100): MainThread;serve (x.py:1)".split(";"), 25)], 10, root_role="s")
    run = {"size": "10k", "mode": "json", "seconds": 6.0, "state": "completed", "kwa": summary, "server": server}
    info = {"date": "2026-12-07", "rate": 10.0, "machine": {"cpu": "x", "nproc": 2, "commit": "abc"}, "command": "c"}
    text = markdown(info, [run])
    assert "| parent | kwa-writer | 5.0 |" in text and "| lane | _manage | 4.0 |" in text
    assert "| s | MainThread | 2.5 |" in text
    # the parts of the run side by side, first of all
    assert "| parent: result writer (SQLite inserts) | 5.0 |" in text
    assert "| parent: the live listing thread | — |" not in text  # a part no run had is not a row
    assert "| Prefect server, all threads | 2.5 |" in text
