"""kwa.baseline: fingerprints that survive edits which change nothing, and a file format that refuses nonsense.

The findings come from the real checks over real manifests (``_findings``), so a fingerprint is tested
on what ``kwa lint`` and ``kwa run`` will actually hand it, not on rows made up to fit it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kwa.baseline import (
    Baseline,
    BaselineError,
    Entry,
    finding_key,
    message_shape,
    parse_expires,
    split,
)

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 6)


def deployment(name: str, namespace: str = "shop", privileged: bool = True, memory: str = "512Mi") -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata:\n  name: {name}\n  namespace: {namespace}\n"
        "spec:\n  replicas: 1\n"
        f"  selector: {{matchLabels: {{app: {name}}}}}\n"
        "  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n"
        "    spec:\n      containers:\n"
        "      - name: app\n        image: nginx:1.27\n"
        f"        resources: {{limits: {{memory: {memory}}}}}\n"
        f"        securityContext: {{privileged: {str(privileged).lower()}}}\n"
    )


def _findings(tmp: Path, files: dict[str, str]) -> list[dict[str, Any]]:
    """Every result of every check over ``files`` written under ``tmp``, as result rows."""
    from checks.registry import load_all
    from checks.runner import evaluate
    from checks.sources.manifests import load_manifests

    tmp.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp / name).write_text(text)
    snapshot = load_manifests([str(tmp / name) for name in files])
    rows = []
    for check in load_all().all():
        for result in evaluate(check, snapshot):
            rows.append({**result.as_row(), "check_id": check.id, "severity": check.severity.value})
    return rows


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(finding_key(r) for r in rows if r["status"] in ("failing", "warning"))


def test_a_fingerprint_survives_line_moves_reordering_renames_and_reformatting(tmp_path: Path) -> None:
    a, b = deployment("api"), deployment("web")
    before = _findings(tmp_path / "1", {"apps.yaml": a + "---\n" + b})
    assert len(_keys(before)) >= 10  # the deployments break enough checks for this to mean something
    # Comments push every line down, the documents swap places, the file is renamed and its
    # mappings rewritten in flow style with other indentation.
    reformatted = json.dumps(__import__("yaml").safe_load(a), indent=4)
    after = _findings(tmp_path / "2", {"renamed.yaml": "# moved\n# down\n\n" + b + "---\n" + reformatted})
    assert {r["source_line"] for r in before if r["object_name"] == "api"} != {
        r["source_line"] for r in after if r["object_name"] == "api"
    }
    assert _keys(before) == _keys(after)


def test_reordering_a_pods_containers_keeps_each_containers_findings(tmp_path: Path) -> None:
    app = "  - {name: app, image: 'nginx:1.27', securityContext: {privileged: true}}\n"
    sidecar = "  - {name: sidecar, image: 'busybox:1.36'}\n"
    head = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
    before = _findings(tmp_path / "1", {"p.yaml": head + app + sidecar})
    after = _findings(tmp_path / "2", {"p.yaml": head + sidecar + app})
    # Findings about one container: their field paths moved from containers[0] to containers[1].
    per_container = {"SEC-001", "SEC-006", "PERF-001", "PERF-002", "PERF-003"}
    mine = [
        [r for r in rows if r["check_id"] in per_container and r["status"] == "failing"] for rows in (before, after)
    ]
    where = [{(r["container"], r["field_path"]) for r in rows} for rows in mine]
    assert ("app", "spec.containers[0].securityContext.privileged") in where[0]
    assert ("app", "spec.containers[1].securityContext.privileged") in where[1] and len(mine[0]) == 9
    assert _keys(mine[0]) == _keys(mine[1])


def test_numbers_in_a_message_do_not_make_a_finding_new() -> None:
    row = {"check_id": "PERF-009", "object_kind": "Deployment", "object_name": "api", "message": "limit 512Mi > 256Mi"}
    assert message_shape("limit 512Mi >  256Mi") == message_shape("limit 1Gi > 256Mi") == "limit # > #"
    assert finding_key(row) == finding_key({**row, "message": "limit 1Gi > 256Mi"})
    # Digits inside names are names: an API version or a generated suffix is not a measurement.
    assert message_shape("policy/v1beta1 is removed in 1.25") == "policy/v1beta1 is removed in #"
    assert finding_key(row) != finding_key({**row, "message": "limit 512Mi > 256Mi on sidecar"})


def test_findings_that_differ_by_object_container_or_field_stay_apart(tmp_path: Path) -> None:
    base = {"check_id": "SEC-002", "status": "failing", "object_kind": "Deployment", "object_namespace": "shop",
            "object_name": "api", "container": "app", "field_path": "spec.a", "message": "m"}  # fmt: skip
    variants = [
        base,
        {**base, "field_path": "spec.b"},
        {**base, "container": "sidecar"},
        {**base, "object_name": "web"},
        {**base, "object_namespace": "other"},
        {**base, "object_kind": "StatefulSet"},
        {**base, "check_id": "SEC-003"},
    ]
    assert len({finding_key(r) for r in variants}) == len(variants)
    # On real findings: two namespaces with the same deployment name are different findings.
    rows = _findings(tmp_path, {"a.yaml": deployment("api", "one") + "---\n" + deployment("api", "two")})
    keys = _keys(rows)
    assert len(keys) == len(set(keys))


def test_split_known_new_expired_and_stale(tmp_path: Path) -> None:
    old = _findings(tmp_path / "old", {"a.yaml": deployment("api") + "---\n" + deployment("gone")})
    baseline = Baseline.from_rows(old, "kwa-baseline.json")
    # "gone" was deleted (its entries are stale) and "new" added (its findings are new).
    rows = _findings(tmp_path / "new", {"a.yaml": deployment("api") + "---\n" + deployment("new")})
    got = split(rows, baseline, today=TODAY)
    findings = [r for r in rows if r["status"] in ("failing", "warning")]
    # The namespace's own findings (no ResourceQuota, …) were there before and still are.
    assert {r["object_name"] for r in got.known} == {"api", "shop"}
    assert {r["object_name"] for r in got.new} == {"new"}
    assert len(got.known) + len(got.new) == len(findings)
    assert {e.object for e in got.stale} == {"Deployment/shop/gone"} and not got.expired
    assert got.changed == 0
    assert got.summary() == (
        f"baseline kwa-baseline.json: {len(got.known)} known findings suppressed, {len(got.new)} new, "
        f"{len(got.stale)} entries stale (no longer found: remove or rewrite with --write-baseline)"
    )
    data = got.as_dict()
    assert (data["known"], data["new"], data["stale"]) == (len(got.known), len(got.new), len(got.stale))
    assert {f["object_name"] for f in data["new_findings"]} == {"new"}


def test_an_expired_entry_suppresses_nothing_and_is_reported(tmp_path: Path) -> None:
    rows = _findings(tmp_path, {"a.yaml": deployment("api")})
    privileged = next(r for r in rows if r["check_id"] == "SEC-001" and r["status"] == "failing")
    entries = [Entry.of(r, expires=date(2026, 11, 30) if r is privileged else None) for r in rows if r["status"] in
               ("failing", "warning")]  # fmt: skip
    baseline = Baseline(entries, "kwa-baseline.json")
    # Through its expiry day the entry still suppresses; the day after it does not.
    assert not split(rows, baseline, today=date(2026, 11, 30)).new
    got = split(rows, baseline, today=TODAY)
    assert got.new == [privileged] and got.new_failing == [privileged]
    assert [e.check for e in got.expired] == ["SEC-001"] and not got.stale
    assert "1 entry expired (SEC-001 Deployment/shop/api container app, expired 2026-11-30)" in got.summary()


def test_a_changed_finding_is_new_and_said_to_be_changed() -> None:
    row = {"check_id": "SEC-029", "status": "failing", "object_kind": "Role", "object_namespace": "ci",
           "object_name": "deployer", "message": "Role deployer grants pods/exec"}  # fmt: skip
    baseline = Baseline.from_rows([row], "b.json")
    grown = {**row, "message": "Role deployer grants pods/exec, impersonate"}
    got = split([grown], baseline, today=TODAY)
    assert got.new == [grown] and len(got.stale) == 1 and got.changed == 1
    assert "1 new (1 changed since the baseline)" in got.summary()


def test_entries_are_a_multiset() -> None:
    row = {"check_id": "X-1", "status": "warning", "object_kind": "Pod", "object_name": "p", "message": "port 80"}
    twice = Baseline.from_rows([row], "b.json")
    got = split([row, {**row, "message": "port 8080"}], twice, today=TODAY)
    assert len(got.known) == 1 and len(got.new) == 1  # one entry accepts one finding, not every look-alike


def test_entries_of_checks_that_did_not_run_are_unchecked_not_stale() -> None:
    rows = [{"check_id": c, "status": "failing", "object_kind": "Pod", "object_name": "p"} for c in ("A-1", "B-1")]
    baseline = Baseline.from_rows(rows, "b.json")
    got = split(rows[:1], baseline, today=TODAY, checks=["A-1"])
    assert [e.check for e in got.unchecked] == ["B-1"] and not got.stale and len(got.known) == 1
    assert "1 entry not checked (their check did not run)" in got.summary()


def test_a_rewrite_carries_the_entries_of_checks_that_did_not_run_and_drops_stale_ones() -> None:
    def row(check: str, name: str) -> dict[str, Any]:
        return {"check_id": check, "status": "failing", "object_kind": "Pod", "object_name": name, "message": "m"}

    old = Baseline.from_rows([row("A-1", "p"), row("A-1", "fixed"), row("B-1", "p")], "b.json")
    now = [row("A-1", "p"), row("A-1", "added")]  # B-1 did not run this time
    got = split(now, old, today=TODAY, checks=["A-1"])
    rewritten = Baseline.from_rows(now, "b.json", previous=old, keep=got.unchecked)
    assert [(e.check, e.object) for e in rewritten.entries] == [
        ("A-1", "Pod/added"),
        ("A-1", "Pod/p"),
        ("B-1", "Pod/p"),
    ]
    assert not split(now, rewritten, today=TODAY, checks=["A-1"]).new


def test_passing_and_errored_results_are_not_findings() -> None:
    rows = [{"check_id": "A-1", "status": s, "object_name": "p"} for s in ("passing", "error", "timeout", "skipped")]
    assert Baseline.from_rows(rows, "b.json").entries == []
    assert not split(rows, Baseline([], "b.json"), today=TODAY).new


def test_a_written_file_reads_back_sorted_and_keeps_reasons_and_expiry(tmp_path: Path) -> None:
    rows = _findings(tmp_path / "m", {"a.yaml": deployment("web") + "---\n" + deployment("api")})
    path = tmp_path / "kwa-baseline.json"
    Baseline.from_rows(rows, str(path), expires=date(2027, 3, 6)).write(path)
    text = path.read_text()
    data = json.loads(text)
    assert data["version"] == 1 and data["generator"].startswith("kwa ") and data["created"].endswith("Z")
    order = [
        tuple(e[k] or "" for k in ("check", "object", "container", "field", "fingerprint")) for e in data["entries"]
    ]
    assert order == sorted(order) and {e["object"] for e in data["entries"]} == {
        "Deployment/shop/api",
        "Deployment/shop/web",
        "Namespace/shop",
    }
    assert list(data["entries"][0]) == ["check", "object", "container", "field", "fingerprint", "severity",
                                        "message", "expires", "reason"]  # fmt: skip
    assert {e["expires"] for e in data["entries"]} == {"2027-03-06"}
    # One entry per line: accepting or fixing a finding is one line in a diff.
    lines = text.splitlines()
    assert len(lines) == 7 + len(data["entries"]) and lines[5].startswith('    {"check": ')
    assert [json.loads(line.rstrip(",")) for line in lines[5:-2]] == data["entries"]
    # A person wrote a reason on one entry and let another expire; a rewrite keeps both.
    data["entries"][0]["reason"] = "accepted until the chart moves to v2"
    data["entries"][1]["expires"] = "2026-01-01"
    path.write_text(json.dumps(data))
    loaded = Baseline.load(path)
    again = Baseline.from_rows(rows, str(path), previous=loaded, expires=date(2027, 6, 1))
    by_print = {e.fingerprint: e for e in again.entries}
    assert by_print[data["entries"][0]["fingerprint"]].reason == "accepted until the chart moves to v2"
    assert by_print[data["entries"][1]["fingerprint"]].expires == date(2026, 1, 1)
    again.write(path)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the temporary file is gone
    assert [e.sort_key() for e in Baseline.load(path).entries] == sorted(e.sort_key() for e in again.entries)


def test_an_empty_baseline_round_trips(tmp_path: Path) -> None:
    Baseline([], "b").write(tmp_path / "b.json")
    assert json.loads((tmp_path / "b.json").read_text())["entries"] == []
    assert Baseline.load(tmp_path / "b.json").entries == []


def test_writing_into_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"^cannot write baseline .*/nowhere/b.json: No such file or directory$"):
        Baseline([], "b").write(tmp_path / "nowhere" / "b.json")


GOOD_ENTRY = {"check": "SEC-001", "object": "Deployment/shop/api", "fingerprint": "0123456789abcdef"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"^baseline {f}: not JSON \(line 1, column 2: Expecting property name"),
        ("[]", r"^baseline {f}: expected a JSON object with 'version' and 'entries'$"),
        ('{"version": 2, "entries": []}', r"^baseline {f}: version 2 is not supported \(this kwa reads version 1\)$"),
        ('{"version": 1}', r"^baseline {f}: 'entries' must be a list$"),
        ('{"version": 1, "entries": [], "extra": 1}', r"^baseline {f}: unknown field 'extra'"),
        ('{"version": 1, "entries": [3]}', r"^baseline {f}: entry 1: expected an object, got int$"),
        (
            json.dumps({"version": 1, "entries": [GOOD_ENTRY, {**GOOD_ENTRY, "expires": "2026-13-01"}]}),
            r"^baseline {f}: entry 2 \(SEC-001 Deployment/shop/api\): 'expires' must be a date YYYY-MM-DD or null, "
            r"got '2026-13-01'$",
        ),
        (
            json.dumps({"version": 1, "entries": [{**GOOD_ENTRY, "fingerprint": "XYZ"}]}),
            r"^baseline {f}: entry 1 \(SEC-001 Deployment/shop/api\): 'fingerprint' must be 16 lower-case hex "
            r"digits, got 'XYZ'$",
        ),
        (
            json.dumps({"version": 1, "entries": [{**GOOD_ENTRY, "check": ""}]}),
            r"^baseline {f}: entry 1: 'check' must be a check id such as SEC-001$",
        ),
        (
            json.dumps({"version": 1, "entries": [{**GOOD_ENTRY, "expire": "2027-01-01"}]}),
            r"^baseline {f}: entry 1 \(SEC-001 Deployment/shop/api\): unknown field 'expire'",
        ),
        (
            json.dumps({"version": 1, "entries": [{**GOOD_ENTRY, "reason": 5}]}),
            r"^baseline {f}: entry 1 \(SEC-001 Deployment/shop/api\): 'reason' must be a string or null$",
        ),
        ('{"version": 1, "entries": ' + "[" * 100_000 + "]" * 100_000 + "}", r"^baseline {f}: nested too deeply"),
    ],
)
def test_a_malformed_file_names_the_file_and_the_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "kwa-baseline.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match=message.replace("{f}", str(path).replace(".", r"\."))):
        Baseline.load(path)


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"^baseline .*missing\.json: cannot read it: No such file or directory$"):
        Baseline.load(tmp_path / "missing.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BaselineError, match=r"^baseline .*bin\.json: not UTF-8 text$"):
        Baseline.load(tmp_path / "bin.json")


def test_expiry_option() -> None:
    assert parse_expires("90d", TODAY) == date(2027, 3, 6)
    assert parse_expires("2w", TODAY) == date(2026, 12, 20)
    assert parse_expires("2027-01-31", TODAY) == date(2027, 1, 31)
    for bad, why in (("0d", "at least one day"), ("2026-12-05", "has passed"), ("soon", "expected a number")):
        with pytest.raises(BaselineError, match=why):
            parse_expires(bad, TODAY)


def test_the_module_imports_neither_storage_nor_prefect_nor_sqlalchemy() -> None:
    heavy = "('sqlalchemy', 'prefect', 'storage', 'typer', 'checks')"
    code = f"import sys, kwa.baseline; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_kwa_run_refuses_unusable_baseline_options_before_it_starts(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from cli.errors import UsageError
    from kwa.commands.baseline_options import baseline_options

    def options(**given: Any) -> Any:
        values = {"baseline": None, "baseline_run": None, "write_baseline": None, "baseline_expires": None}
        return baseline_options(SimpleNamespace(**{**values, **given}))

    assert options() is None
    written = options(write_baseline=str(tmp_path / "b.json"), baseline_expires="30d")
    assert written.write == str(tmp_path / "b.json") and written.expires is not None and written.compare is None
    refused = {
        "--baseline and --baseline-run cannot be combined": {"baseline": "b.json", "baseline_run": "latest"},
        "--baseline-expires sets the expiry": {"baseline_expires": "30d"},
        "cannot read it: No such file or directory": {"baseline": str(tmp_path / "missing.json")},
        "the directory .* does not exist": {"write_baseline": str(tmp_path / "no" / "b.json")},
        "is a directory; name the file to write": {"write_baseline": str(tmp_path)},
        "expected a number of days or weeks": {"write_baseline": str(tmp_path / "b.json"), "baseline_expires": "soon"},
    }
    for message, given in refused.items():
        with pytest.raises(UsageError, match=message):
            options(**given)


def test_a_run_that_assessed_nothing_is_not_compared_and_writes_nothing(tmp_path: Path) -> None:
    from kwa.exit_codes import ExitCode
    from kwa.verdict import BaselineOptions, _baseline

    view: dict[str, Any] = {"run": {"state": "completed", "check_ids": ["SEC-001"]}}
    target = tmp_path / "b.json"
    got = _baseline(
        None, "run_x", view, ExitCode.NOTHING_ASSESSED, BaselineOptions(Baseline([], "old.json"), str(target))
    )
    said = f"not compared with baseline old.json and baseline {target} not written: nothing was assessed"
    assert got == (None, [said], False)
    failed = {"run": {"state": "failed"}}
    assert _baseline(None, "run_x", failed, ExitCode.FAILED, BaselineOptions(None, str(target)))[1] == [
        f"baseline {target} not written: the run ended failed"
    ]
    assert not target.exists() and "baseline" not in view
