"""Hostile documents through the real ``kwa run``: each costs only itself, in bounded time and memory.

The alias bomb, 100,000 levels of nesting (JSON and YAML, file and stdin), an alias inside its
own anchor and duplicate keys: each is one problem naming the input, the document and the limit
(or the key and its line); every other document is assessed; the run completes; no traceback.
"""

from __future__ import annotations

import time

from tests.faults.harness import Kwa
from tests.faults.parsing_docs import (
    CHECKS,
    assert_assessed,
    billion_laughs,
    deployment,
    reading_seconds,
    stream,
    summary,
)


def test_the_alias_bomb_is_refused_in_seconds_and_megabytes(kwa: Kwa) -> None:
    (kwa.tmp / "app.yaml").write_text(stream(deployment("web"), billion_laughs(), deployment("api")))
    started = time.monotonic()
    got = kwa("run", "--manifests", "app.yaml", "--check", CHECKS, measure=True)
    wall = time.monotonic() - started

    run = assert_assessed(got, {"web", "api"})
    assert "app.yaml (document 1): expands to more than limits.alias_nodes (1,000,000) nodes" in got.text
    assert summary(run)["problems"] == [
        "app.yaml (document 1): expands to more than limits.alias_nodes (1,000,000) nodes with its aliases "
        "resolved (line 21, column 6)"
    ]
    # The bomb used to take the process to 19 GB. Reading it now takes well under 10 s (the
    # whole command is mostly Prefect's start-up, seconds more on a loaded machine).
    assert reading_seconds(run) < 10, run
    assert wall < 120, wall
    assert got.peak_rss_mb is not None and got.peak_rss_mb < 500, got.peak_rss_mb


def test_the_alias_bomb_on_stdin_in_block_style_and_through_merge_keys(kwa: Kwa) -> None:
    block = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: block, namespace: shop}", "data:",
             "  a: &a", *["  - lol"] * 9]
    for previous, current in zip("abcdefgh", "bcdefghi", strict=True):
        block += [f"  {current}: &{current}", *[f"  - *{previous}"] * 9]
    merge = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: merge, namespace: shop}",
             "m0: &m0 {k0: 1, k1: 2, k2: 3}"]
    for level in range(1, 10):
        merge.append(f"m{level}: &m{level}\n  <<: [" + ", ".join([f"*m{level - 1}"] * 9) + "]\n  k: 1")
    text = stream(deployment("web"), "\n".join(block) + "\n", "\n".join(merge) + "\n", deployment("api"))
    got = kwa("run", "--manifests", "-", "--check", CHECKS, input=text, measure=True)

    run = assert_assessed(got, {"web", "api"})
    problems = summary(run)["problems"]
    assert [p.split(":")[0] for p in problems] == ["<stdin> (document 1)", "<stdin> (document 2)"], problems
    assert all("limits.alias_nodes" in p for p in problems), problems
    assert reading_seconds(run) < 10, run
    assert got.peak_rss_mb is not None and got.peak_rss_mb < 500, got.peak_rss_mb


def test_deep_json_and_yaml_are_one_problem_each(kwa: Kwa) -> None:
    (kwa.tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (kwa.tmp / "deep.yaml").write_text(stream(
        deployment("web"),
        "a: " + "[" * 100_000 + "]" * 100_000 + "\n",  # flow
        "- " * 100_000 + "x\n",  # block: compact nested sequences
        "a: &x [*x]\n",  # an alias inside its own anchor (rapidyaml crashed on it)
        deployment("api"),
    ))
    got = kwa("run", "--manifests", "deep.json", "--manifests", "deep.yaml", "--check", CHECKS)

    run = assert_assessed(got, {"web", "api"})
    problems = summary(run)["problems"]
    assert len(problems) == 4, problems
    assert problems[0].startswith("deep.json (document 0): nested deeper than limits.depth (100)"), problems
    assert problems[1].startswith("deep.yaml (document 1): nested deeper than limits.depth (100) (line 11,"), problems
    assert problems[2].startswith("deep.yaml (document 2): nested deeper than limits.depth (100) (line 13,"), problems
    assert problems[3].startswith("deep.yaml (document 3): an alias inside its own anchor"), problems


def test_deep_json_on_stdin_fails_nothing_but_itself(kwa: Kwa) -> None:
    got = kwa("run", "--manifests", "-", "--check", CHECKS, input="[" * 100_000 + "]" * 100_000)

    assert got.code == 9, got.text  # nothing was assessed: its own exit code
    run = assert_assessed(got, set(), code=9)
    assert summary(run)["problems"] == [
        "<stdin> (document 0): nested deeper than limits.depth (100) (line 1, column 101)",
        "<stdin>: no Kubernetes objects: the one document read was skipped",
    ]
    assert "RecursionError" not in got.text


def test_duplicate_keys_are_refused_with_the_key_and_its_line(kwa: Kwa) -> None:
    duplicate = deployment("twice").replace("  replicas: 2\n", "  replicas: 2\n  replicas: 3\n")
    (kwa.tmp / "app.yaml").write_text(stream(deployment("web"), duplicate, deployment("api")))
    (kwa.tmp / "dump.json").write_text(
        '{"apiVersion": "v1", "kind": "List", "items": [\n'
        ' {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop",\n'
        '  "labels": {"team": "x", "team": "y"}}}]}\n'
    )
    got = kwa("run", "--manifests", "app.yaml", "--manifests", "dump.json", "--check", CHECKS)

    run = assert_assessed(got, {"web", "api"})
    assert summary(run)["problems"] == [
        'app.yaml (document 1): mapping key "replicas" defined twice (line 16, column 3; first defined at line 15)',
        'dump.json (document 0): mapping key "team" defined twice in the object (line 3, column 13)',
    ]
