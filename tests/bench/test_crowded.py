"""bench.crowded builds the namespaces it describes and reports every check at both sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import crowded


@pytest.mark.parametrize("shape", list(crowded.SHAPES))
def test_every_shape_is_one_crowded_namespace_kwa_admits_whole(shape: str) -> None:
    from checks.snapshot import K8sObject, Snapshot

    objects = crowded.SHAPES[shape](200)
    assert 100 <= len(objects) <= 260
    assert {o["metadata"]["namespace"] for o in objects} == {crowded.NS}
    snap = Snapshot(objects=[K8sObject(o, "crowded.json", i) for i, o in enumerate(objects)]).prepare()
    assert not snap.malformed and len(snap.objects) == len(objects)


def test_the_report_has_every_check_at_both_sizes_and_flags_only_fast_growth(tmp_path: Path) -> None:
    status = crowded.main(["--size", "60", "--shapes", "services", "--modes", "manifest", "--out-dir", str(tmp_path)])
    (report,) = tmp_path.glob("*-crowded.json")
    data = json.loads(report.read_text())
    (result,) = data["results"]
    assert result["shape"] == "services" and result["objects"] == [61, 241]
    assert len(result["checks"]) >= 100
    assert all(row["small_s"] >= 0 and row["large_s"] >= 0 for row in result["checks"])
    # nothing at this size takes half a second, so nothing is flagged and the exit status is 0
    assert status == 0 and not any(row["flagged"] for row in result["checks"])
    assert "| services | manifest | 61 → 241 |" in next(tmp_path.glob("*-crowded.md")).read_text()


def test_unknown_shapes_are_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        crowded.main(["--shapes", "services,nope"])
    assert info.value.code == 2 and "unknown shape(s) nope" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--modes", "manifests"], ["--modes", " , "], ["--shapes", ""], ["--size", "0"]])
def test_options_that_would_measure_nothing_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        crowded.main(argv)
    assert info.value.code == 2 and "error:" in capsys.readouterr().err
