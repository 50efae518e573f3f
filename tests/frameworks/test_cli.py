"""``--framework`` on ``kwa query assessments summary|list|get``, SARIF and JUnit control ids,
and ``kwa frameworks list|show``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import yaml

from kwa.frameworks import load
from tests.frameworks.conftest import RESULTS, RUN


def test_summary_table_shows_each_control_score_and_coverage(kwa) -> None:
    code, out, err = kwa("query", "assessments", "summary", "--run", RUN, "--framework", "nsa")
    assert code == 0, err
    assert "NSA/CISA Kubernetes Hardening Guidance" in out
    assert "score 61.5% · coverage 23.3% (7 of 30 controls evaluated)" in out
    lines = {ln.split("│")[1].strip(): ln for ln in out.splitlines() if ln.count("│") > 3}
    assert "failed" in lines["NSA-POD-5"] and "1 failing (SEC-001)" in lines["NSA-POD-5"]
    assert "not-assessed" in lines["NSA-NET-4"]
    assert "NSA-POD-1 ~" in lines  # partial mapping flagged
    assert "partial mapping" in out


def test_summary_json_and_yaml(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "summary", "--run", RUN, "--framework", "nsa", "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "FrameworkStatus"
    assert doc["framework"]["name"] == "nsa" and doc["run"]["run_id"] == RUN
    assert doc["controls_total"] == len(load("nsa").controls)
    controls = {c["id"]: c for c in doc["controls"]}
    assert controls["NSA-POD-5"]["status"] == "failed" and controls["NSA-POD-5"]["failing_checks"] == ["SEC-001"]
    assert controls["NSA-POD-1"]["partial"] is True and controls["NSA-POD-1"]["note"]
    assert controls["NSA-NET-4"]["reason"]
    evaluated = sum(doc["counts"][s] for s in ("passed", "failed", "warning"))
    assert doc["coverage"] == int(1000 * evaluated / doc["controls_total"]) / 10
    code, out, _ = kwa("query", "assessments", "summary", "--run", RUN, "--framework", "cis", "-o", "yaml")
    assert code == 0
    assert yaml.safe_load(out)["framework"]["name"] == "cis"


def test_summary_csv_one_row_per_control(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "summary", "--run", RUN, "--framework", "cis", "-o", "csv")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0].startswith("id,title,status")
    assert len(rows) == 1 + len(load("cis").controls)


def test_unknown_framework_is_a_usage_error_listing_valid_names(kwa) -> None:
    for argv in (("summary",), ("list",), ("get", RUN)):
        code, out, err = kwa("query", "assessments", *argv, "--framework", "nist")
        assert code == 2, argv
        assert "unknown framework 'nist'; valid names:" in err and "nsa" in err and "cis" in err
        assert out == ""


def test_list_holds_only_the_frameworks_checks_each_with_its_controls(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "list", "--run", RUN, "--framework", "cis", "-o", "json")
    assert code == 0
    doc = json.loads(out)
    cis = load("cis")
    by_check = cis.controls_by_check()
    assert doc["framework"] == "cis"
    assert doc["items"]
    for item in doc["items"]:
        assert item["check_id"] in by_check
        assert item["controls"] == by_check[item["check_id"]]
    # SEC-013 is in the run but no CIS control maps to it
    assert "SEC-013" in RESULTS and "SEC-013" not in {i["check_id"] for i in doc["items"]}
    expected = sum(len(rows) for cid, rows in RESULTS.items() if cid in by_check)
    assert len(doc["items"]) == expected


def test_list_table_names_the_controls_and_check_filter_narrows(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "list", "--run", RUN, "--framework", "cis", "--check", "SEC-001")
    assert code == 0
    assert "SEC-001" in out and "5.2.2, 5.2.10" in out
    assert "SEC-002" not in out
    code, _, err = kwa("query", "assessments", "list", "--run", RUN, "--framework", "cis", "--check", "SEC-013")
    assert code == 2 and "is mapped by framework cis" in err


def test_get_run_with_framework(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "get", RUN, "--framework", "nsa", "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "FrameworkStatus" and doc["run"]["run_id"] == RUN
    code, out, _ = kwa("query", "assessments", "get", RUN, "--framework", "nsa")
    assert code == 0 and "NSA-POD-5" in out and "score 61.5%" in out


def test_get_result_with_framework(kwa) -> None:
    code, out, _ = kwa(
        "query", "assessments", "list", "--run", RUN, "--check", "SEC-001", "--status", "failing", "-o", "json"
    )
    result_id = json.loads(out)["items"][0]["id"]
    code, out, _ = kwa("query", "assessments", "get", result_id, "--framework", "cis", "-o", "json")
    assert code == 0
    item = json.loads(out)["item"]
    assert item["frameworks"] == {"cis": ["5.2.2", "5.2.10"]}
    assert [c["id"] for c in item["controls"]] == ["5.2.2", "5.2.10"]
    code, out, _ = kwa("query", "assessments", "get", result_id, "--framework", "cis")
    assert code == 0 and "cis 5.2.2 Minimize the admission of privileged containers" in out


def test_sarif_carries_control_ids_with_framework_only(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "summary", "--run", RUN, "--framework", "nsa", "-o", "sarif")
    assert code == 0
    run = json.loads(out)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["SEC-001"]["properties"]["frameworks"] == {"nsa": ["NSA-POD-5"]}
    assert "nsa/NSA-POD-5" in rules["SEC-001"]["properties"]["tags"]
    failing = [r for r in run["results"] if r["ruleId"] == "SEC-001"]
    assert failing and failing[0]["properties"]["frameworks"] == {"nsa": ["NSA-POD-5"]}
    code, out, _ = kwa("query", "assessments", "list", "--run", RUN, "--framework", "cis", "-o", "sarif")
    rules = {r["id"]: r for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["SEC-001"]["properties"]["frameworks"] == {"cis": ["5.2.2", "5.2.10"]}
    code, out, _ = kwa("query", "assessments", "summary", "--run", RUN, "-o", "sarif")
    assert code == 0 and '"frameworks"' not in out  # without --framework: no control ids


def test_junit_carries_control_ids(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "summary", "--run", RUN, "--framework", "cis", "-o", "junit")
    assert code == 0
    root = ET.fromstring(out)
    props = {
        s.get("name").split()[0]: {p.get("name"): p.get("value") for p in s.iter("property")}
        for s in root.iter("testsuite")
    }
    assert props["SEC-001"]["framework.cis"] == "5.2.2,5.2.10"
    assert "SEC-013" not in props  # not a CIS check
    code, out, _ = kwa("query", "assessments", "list", "--run", RUN, "--framework", "nsa", "-o", "junit")
    assert 'name="framework.nsa" value="NSA-POD-5"' in out


def test_frameworks_list_and_show(kwa) -> None:
    code, out, _ = kwa("frameworks", "list", "-o", "json")
    assert code == 0
    doc = json.loads(out)
    names = {f["name"] for f in doc["items"]}
    assert {"nsa", "cis"} <= names
    code, out, _ = kwa("frameworks", "show", "nsa", "-o", "json")
    shown = json.loads(out)
    assert shown["name"] == "nsa" and len(shown["items"]) == len(load("nsa").controls)
    code, _, err = kwa("frameworks", "show", "nist")
    assert code == 2 and "valid names" in err
    code, out, _ = kwa("frameworks", "show", "cis")
    assert code == 0 and "5.2.2" in out and "not assessed" in out
    code, out, _ = kwa("frameworks", "list")
    assert code == 0 and "cis" in out and "nsa" in out


def test_a_broken_framework_file_is_named_and_the_others_still_listed(kwa, tmp_path, monkeypatch) -> None:
    import shutil

    import kwa.frameworks as frameworks

    for name in ("nsa", "cis"):
        shutil.copy(frameworks.DATA_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: kwa.io/v1\nkind: Framework\nmetadata: {name: broken}\nspec: {}\n"
    )
    monkeypatch.setattr(frameworks, "DATA_DIR", tmp_path)
    frameworks.load.cache_clear()
    try:
        code, out, err = kwa("frameworks", "list", "-o", "json")
        assert code == 0
        assert {f["name"] for f in json.loads(out)["items"]} == {"nsa", "cis"}
        assert "framework 'broken' cannot be used: broken.yaml: spec: field 'controls'" in err
        code, _, err = kwa("query", "assessments", "summary", "--framework", "broken")
        assert code == 2 and "broken.yaml: spec: field 'controls' must be a non-empty list" in err
    finally:
        frameworks.load.cache_clear()
