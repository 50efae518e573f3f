"""bench.write_cost and bench.lane_cost measure what they say on small inputs."""

from __future__ import annotations

from pathlib import Path

from bench.lane_cost import measure as lane_cost
from bench.write_cost import STEPS
from bench.write_cost import measure as write_cost

DEMO = Path(__file__).resolve().parents[2] / "checks" / "data" / "demo-cluster.yaml"


def test_write_cost_times_every_step_of_the_insert() -> None:
    micros = write_cost(1_200, 1)
    assert list(micros) == list(STEPS)
    assert all(v > 0 for v in micros.values())
    # reading the rows' fields is part of every insert, so it can never cost more than the whole
    assert micros["enumerate"] < micros["insert, as kwa does"]


def test_lane_cost_evaluates_the_catalogue_in_both_modes_alike() -> None:
    lane, inline = lane_cost(str(DEMO), "lane"), lane_cost(str(DEMO), "inline")
    assert lane["objects"] == inline["objects"] > 0
    assert lane["rows"] == inline["rows"] > 0
