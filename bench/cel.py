"""CEL in kwa, measured: the two Python CEL libraries compared, and a CEL check against a built-in.

Usage: ``python -m bench.cel [--objects 10000] [--repeat 5] [--celpy-objects 1000] [--json OUT]``

1. **Libraries** — ``common-expression-language`` (import ``cel``, the Rust ``cel`` crate) and
   ``cel-python`` (import ``celpy``, pure Python): the same expressions over the same objects of a
   synthetic cluster (bench/generate.py), compiled once, each object converted per evaluation (the
   whole object, and for ``cel`` also the projection kwa hands it: only the fields the expression
   reads, checks/cel/engine.py). cel-python is timed on ``--celpy-objects`` objects and scaled.
   kwa's engine is timed twice: with its Python fast path (checks/cel/fast.py) and on the Rust
   path alone. Then which Kubernetes CEL library functions each evaluates as shipped.
2. **Cost** — a CEL check against a built-in check of similar logic, both through
   ``checks.runner.evaluate`` (exemptions and result rows included) over the ``--objects``-object
   snapshot: OPS-003 (required labels on every workload and Service) against a CEL check of the
   same rule, and SEC-001-style privileged containers against a CEL check over pod templates.
   The CEL check is timed with the fast path and on the Rust path alone. Medians of ``--repeat``
   runs, the runs of the three interleaved (so that a busy moment of a shared machine weighs on
   all of them), and the ratios (the target: at most 3x).
3. **Examples** — which expressions of examples/checks/ take the fast path.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

EXPRESSIONS = {
    "label present": "has(object.metadata.labels) && 'app.kubernetes.io/name' in object.metadata.labels",
    "containers all": (
        "!has(object.spec.template) || object.spec.template.spec.containers.all(c, "
        "has(c.resources) && has(c.resources.limits))"
    ),
    "name prefix": "object.metadata.name.startsWith('api') || object.kind == 'Pod'",
}
# Kubernetes CEL library functions and CEL features: does the library evaluate them as shipped?
COVERAGE = {
    "quantity()": "quantity('1Gi') == quantity('1024Mi')",
    "url()": "url('https://x.io/a').getHost() == 'x.io'",
    "isSorted()": "[1, 2].isSorted()",
    "sum/min/max on lists": "[1, 2].sum() == 3 && [1, 2].max() == 2",
    "indexOf/lastIndexOf": "'abca'.indexOf('a') == 0 && 'abca'.lastIndexOf('a') == 3",
    "regex find/findAll": "'a1b2'.find('[0-9]') == '1' && size('a1b2'.findAll('[0-9]')) == 2",
    "split/join": "'a,b'.split(',').join('-') == 'a-b'",
    "lowerAscii/upperAscii": "'Ab'.lowerAscii() == 'ab' && 'Ab'.upperAscii() == 'AB'",
    "replace/trim/substring": "' ab '.trim().replace('a', 'x').substring(1) == 'b'",
    "format": "'%s-%d'.format(['a', 1]) == 'a-1'",
    "optional types (.?)": "{'a': 1}.?a.orValue(0) == 1",
    "ip()/cidr()": "cidr('10.0.0.0/8').containsIP(ip('10.0.0.1'))",
    "matches (core)": "'abc'.matches('^a')",
}


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def libraries(objects: list[dict[str, Any]], celpy_objects: int, repeat: int) -> dict[str, Any]:
    import cel
    import celpy

    from checks.cel.engine import compile_expression, fast_path_enabled, project

    out: dict[str, Any] = {}
    env = celpy.Environment()
    sample = objects[:celpy_objects]
    for label, source in EXPRESSIONS.items():
        rust = cel.compile(source)
        kwa = compile_expression(source, where="bench")
        fast_path_enabled(False)
        kwa_rust = compile_expression(source, where="bench")
        fast_path_enabled(True)
        tree = kwa.paths["object"]
        program = env.program(env.compile(source))
        full = median_seconds(lambda r=rust: _each(r.execute, objects, lambda o: {"object": o}), repeat)
        projected = median_seconds(
            lambda r=rust, t=tree: _each(r.execute, objects, lambda o, t=t: {"object": project(o, t)}), repeat
        )
        engine = median_seconds(lambda k=kwa: _each(k.evaluate, objects, lambda o: {"object": o}), repeat)
        engine_rust = median_seconds(lambda k=kwa_rust: _each(k.evaluate, objects, lambda o: {"object": o}), repeat)
        slow = median_seconds(
            lambda p=program: _each(p.evaluate, sample, lambda o: {"object": celpy.json_to_cel(o)}), 1
        )
        out[label] = {
            "cel_full_s": round(full, 3),
            "cel_projected_s": round(projected, 3),
            "kwa_engine_fast_path_s": round(engine, 3),
            "kwa_engine_rust_path_s": round(engine_rust, 3),
            "celpy_full_s_scaled": round(slow * len(objects) / max(1, len(sample)), 3),
        }
    return out


def _each(fn: Callable[[Any], Any], objects: list[Any], activation: Callable[[Any], Any]) -> None:
    for o in objects:
        # A missing field is an error in every library: raising it is part of the work.
        with contextlib.suppress(Exception):
            fn(activation(o))


def coverage() -> dict[str, dict[str, bool]]:
    import cel
    import celpy
    from cel.stdlib import add_stdlib_to_context

    from checks.cel.engine import compile_expression

    env = celpy.Environment()
    with_stdlib = cel.Context()
    add_stdlib_to_context(with_stdlib)  # the cel-go extensions the package ships, opt-in
    out = {}
    for label, source in COVERAGE.items():
        row = {}
        for name, run in (
            ("cel", lambda s: cel.evaluate(s, {})),
            ("cel+stdlib", lambda s: cel.evaluate(s, with_stdlib)),
            ("celpy", lambda s: env.program(env.compile(s)).evaluate({})),
            ("kwa", lambda s: compile_expression(s, where="bench").evaluate({})),
        ):
            try:
                row[name] = bool(run(source))
            except Exception:
                row[name] = False
        out[label] = row
    return out


def cost(snapshot: Any, repeat: int) -> dict[str, Any]:
    from checks.cel.engine import fast_path_enabled
    from checks.cel.files import definition, read_text
    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    registry = load_all()
    config = Config()
    pairs = {
        "required labels (OPS-003)": ("OPS-003", LABELS_CHECK),
        "privileged containers (SEC-001)": ("SEC-001", PRIVILEGED_CHECK),
    }
    out = {}
    for label, (builtin_id, text) in pairs.items():
        (spec,) = read_text(text, "bench")
        fast = definition(spec, "cel:bench")
        fast_path_enabled(False)
        (spec_rust,) = read_text(text, "bench")
        fast_path_enabled(True)
        rust = definition(spec_rust, "cel:bench")
        builtin = registry.by_id(builtin_id)
        checks = {"builtin": builtin, "fast": fast, "rust": rust}
        times: dict[str, list[float]] = {name: [] for name in checks}
        for _ in range(repeat):
            for name, check in checks.items():
                start = time.perf_counter()
                evaluate(check, snapshot, config)
                times[name].append(time.perf_counter() - start)
        b, f, r = (statistics.median(times[name]) for name in checks)
        rows = {name: len(evaluate(check, snapshot, config)) for name, check in checks.items()}
        same = _verdicts(evaluate(fast, snapshot, config)) == _verdicts(evaluate(rust, snapshot, config))
        out[label] = {
            "builtin_s": round(b, 4),
            "cel_fast_path_s": round(f, 4),
            "cel_rust_path_s": round(r, 4),
            "ratio_fast_path": round(f / b, 2),
            "ratio_rust_path": round(r / b, 2),
            "builtin_rows": rows["builtin"],
            "cel_rows": rows["fast"],
            "fast_and_rust_results_identical": same,
        }
    return out


def _verdicts(results: list[Any]) -> list[tuple[Any, ...]]:
    return [tuple(map(str, r.as_row().values())) for r in results]


def examples() -> dict[str, list[str]]:
    """Per example check, which path each expression takes."""
    from pathlib import Path

    from checks.cel.files import read_text

    out: dict[str, list[str]] = {}
    for path in sorted(Path("examples/checks").glob("*.yaml")):
        for spec in read_text(path.read_text(), str(path)):
            rows = []
            # A cross-object check runs every expression over all objects at once, in the library.
            batch = any("objects" in p.paths for p in spec.programs)
            for program in spec.programs:
                kind = "rust (cross-object batch)" if batch else "fast" if program.fast is not None else "rust"
                rows.append(f"{kind}: {' '.join(program.source.split())[:90]}")
            out[f"{path.name} {spec.id}"] = rows
    return out


_HEAD = "apiVersion: kwa.io/v1\nkind: Check\nmetadata: {name: BENCH-001}\nspec:\n"
LABELS_CHECK = (
    _HEAD
    + """\
  pillar: operational-excellence
  name: Recommended labels
  severity: low
  description: d
  remediation: r
  match: {kinds: [Deployment, StatefulSet, DaemonSet, CronJob, Service]}
  validations:
    - expression: >-
        has(object.metadata.labels) && 'app.kubernetes.io/name' in object.metadata.labels &&
        'app.kubernetes.io/instance' in object.metadata.labels
      message: missing a recommended label
"""
)
PRIVILEGED_CHECK = (
    _HEAD
    + """\
  pillar: security
  name: No privileged containers
  severity: critical
  description: d
  remediation: r
  match: {kinds: [Deployment, StatefulSet, DaemonSet, Job]}
  validations:
    - expression: >-
        object.spec.template.spec.containers.all(c,
          !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)
      message: privileged container
"""
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--celpy-objects", type=int, default=1_000)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)

    from bench.generate import generate
    from checks.k8sobject import K8sObject
    from checks.snapshot import Snapshot

    objects = generate(args.objects)
    snapshot = Snapshot([K8sObject(o, source="bench.yaml", index=i) for i, o in enumerate(objects)]).prepare()
    report = {
        "objects": len(objects),
        "libraries": libraries(objects, args.celpy_objects, max(1, args.repeat // 2)),
        "coverage": coverage(),
        "cost": cost(snapshot, args.repeat),
        "examples": examples(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
