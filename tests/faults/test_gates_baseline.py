"""Baselines through the real CLI: ``kwa run --ci`` fails only on findings a baseline does not accept.

Three real runs over one repository of privileged Deployments (SEC-001, critical): the first writes
the baseline file; then two are fixed and one added, and the run is compared with the stored run
(``--baseline-run latest``) and with the file, one of whose entries has expired.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.faults.harness import Kwa, assert_no_traceback
from tests.faults.test_gates_ci import privileged

SEC001 = "SEC-001 Deployment/shop/web-05 container app"


def write_apps(top: Path, names: list[str], fixed: set[str] = frozenset()) -> None:
    (top / "k8s").mkdir(parents=True, exist_ok=True)
    (top / "k8s" / "apps.yaml").write_text("---\n".join(privileged(n, on=n not in fixed) for n in names))


def test_a_baseline_lets_known_findings_through_and_fails_on_new_ones(kwa: Kwa) -> None:
    top = kwa.tmp / "shop"
    names = [f"web-{i:02d}" for i in range(6)]
    write_apps(top, names)
    args = ("run", "--manifests", "shop/k8s", "--check", "SEC-001", "--cluster-id", "shop", "--ci")

    # Nothing stored yet: "latest" names no run, and no run is started to find that out.
    none = kwa(*args, "--baseline-run", "latest", "--fail-on", "critical")
    assert none.code == 7, none.text
    assert none.err.strip().endswith(
        "error: --baseline-run latest: cluster 'shop' has no completed or partial run to compare with "
        "(run once without it, or give --baseline FILE)"
    ), none.err
    assert none.runs() == []

    # A malformed baseline file is a usage error before anything runs.
    (kwa.tmp / "bad.json").write_text('{"version": 1, "entries": [{"check": "SEC-001"}]}')
    bad = kwa(*args, "--baseline", "bad.json", "--fail-on", "critical")
    assert bad.code == 2, bad.text
    assert bad.err.strip() == (
        "error: baseline bad.json: entry 1 (SEC-001 (the cluster)): 'fingerprint' must be 16 lower-case hex "
        "digits, got None"
    )

    # Run 1 writes the baseline: six critical findings, accepted until a date.
    first = kwa(*args, "--write-baseline", "kwa-baseline.json", "--baseline-expires", "2099-12-31")
    assert first.code == 0, first.text
    assert "baseline kwa-baseline.json written: 6 entries" in first.err
    data = json.loads((kwa.tmp / "kwa-baseline.json").read_text())
    assert [e["object"] for e in data["entries"]] == [f"Deployment/shop/{n}" for n in names]
    assert {(e["check"], e["severity"], e["expires"]) for e in data["entries"]} == {
        ("SEC-001", "critical", "2099-12-31")
    }

    # Two are fixed, one added, and the file moves its documents about: one new finding.
    write_apps(top, ["web-06", *reversed(names)], fixed={"web-00", "web-01"})
    second = kwa(*args, "--baseline-run", "latest", "--fail-on", "critical", "-o", "json")
    assert second.code == 6, second.text
    first_id = first.runs()[0]["run_id"]
    lines = second.err.splitlines()
    assert f"baseline: run {first_id} (completed, 6 findings)" in lines
    assert f"baseline run {first_id}: 4 known findings suppressed, 1 new, 2 entries stale (no longer found)" in lines, (
        second.err
    )
    at = lines.index("  [fail-on] 1 new failing critical result not in the baseline (--fail-on critical; 4 known left "
                     "out): SEC-001")  # fmt: skip
    assert lines[at + 1] == "      critical  SEC-001  Deployment/shop/web-06 (container app)"
    report = json.loads(second.out)
    split = report["baseline"]
    assert (split["source"], split["known"], split["new"], split["stale"]) == (f"run {first_id}", 4, 1, 2)
    assert [f["object_name"] for f in split["new_findings"]] == ["web-06"]
    assert sorted(e["object"] for e in split["stale_entries"]) == ["Deployment/shop/web-00", "Deployment/shop/web-01"]
    assert report["gate"]["baseline"] == f"run {first_id}" and report["gate"]["passed"] is False

    # The file, with web-05's entry expired: it suppresses nothing any more and is reported.
    for entry in data["entries"]:
        if entry["object"] == "Deployment/shop/web-05":
            entry["expires"] = "2026-01-31"
    (kwa.tmp / "kwa-baseline.json").write_text(json.dumps(data, indent=2))
    third = kwa(*args, "--baseline", "kwa-baseline.json", "--fail-on", "critical")
    assert third.code == 6, third.text
    assert (
        "baseline kwa-baseline.json: 3 known findings suppressed, 2 new, 1 entry expired "
        f"({SEC001}, expired 2026-01-31), 2 entries stale (no longer found: remove or rewrite with --write-baseline)"
    ) in third.err.splitlines(), third.err
    assert "  [fail-on] 2 new failing critical results not in the baseline" in third.err
    for got in (none, bad, first, second, third):
        assert_no_traceback(got.text)
