"""How ``kwa run`` ends: read the run back, apply the CI gates, print the report; the exit code.

Which code wins when several apply: aborted 5 and failed 4 stand; then nothing assessed 9 (no gate
is applied to a run over nothing: ``storage.assessed``); then a gate's rejection 6 (over completed
0 and partial 3); else the state's own code (``kwa/exit_codes.py``). ``kwa runs rerun|resume`` end
through :func:`report` the same way.

With a baseline (:class:`BaselineOptions`: ``--baseline FILE`` or ``--baseline-run``), the run's
findings are split against it (``kwa.baseline``): one summary line on stderr, the split under the
``baseline`` key of ``-o json|yaml``, and ``--fail-on`` judging only the new findings (scores and
coverage still judge the whole run). ``--write-baseline`` writes the run's findings as a baseline
file. Both need a run that ended completed or partial: a failed or aborted run's findings are
incomplete, and a run that assessed nothing has none to compare.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from cli.formatters import REPORT_FORMATS
from flows.settle import Ending
from kwa.baseline import BaselineOptions
from kwa.exit_codes import ExitCode, state_exit
from storage.assessed import nothing_assessed
from storage.enums import BASELINE_STATES, STATUSES

PROBLEMS_SHOWN = 10  # skipped inputs listed after the result table (the rest are counted)


def conclude(
    db: Any,
    run_id: str,
    output: str,
    ending: Ending | None,
    fail_on: str | None,
    min_score: dict[str, float],
    min_coverage: dict[str, float] | None,
    baseline: BaselineOptions | None = None,
    framework: str | None = None,
) -> int:
    """Read the run back, apply the gates, print the report; the exit code.

    Order: aborted 5 and failed 4 stand; then nothing assessed 9 (no gate is applied to nothing);
    then a gate's rejection 6 (over completed 0 and partial 3); else the state's code.
    ``baseline``: compare the run's findings with a baseline and/or write them as one.
    ``framework``: also the run read as that framework's controls (after the table; in json/yaml
    under ``framework``).
    """
    view = run_view(db, run_id)
    controls = _framework_reading(db, run_id, framework) if framework else None
    if controls is not None and output in ("json", "yaml"):
        view["framework"] = controls[2]
    from flows.ui import run_page

    # The run's page in the Prefect UI, only when a UI that shows this run is there (flows.ui).
    view["ui_url"] = run_page(view["run"].get("prefect_flow_run_id"), warn=lambda text: print(text, file=sys.stderr))
    if ending is not None and ending.unstored:
        # Show the run as it really ended, and say that kwa's database does not know it yet.
        view["run"].update(stored_state=view["run"].get("state"), state=ending.state, error=ending.message)
    code = outcome_code(view)
    split, notes, unwritten = _baseline(db, run_id, view, code, baseline) if baseline else (None, [], False)
    violations = apply_gates(
        view, code, (fail_on, min_score, min_coverage), split,
        lambda new_failing: judge(db, run_id, fail_on, min_score, min_coverage, new_failing),
    )  # fmt: skip
    if output in REPORT_FORMATS:
        from kwa.views.assessments import write_run_reports
        from storage.queries import run_results

        write_run_reports(view["run"], run_results(db, run_id), output, sys.stdout)
    else:
        render(view, output)
        if controls is not None and output == "table":
            from kwa.views.frameworks import write_report

            write_report("table", controls[0], controls[1], sys.stdout)
    if output != "table" and view.get("nothing_assessed"):  # the table says it in the report
        print(f"nothing was assessed: {view['nothing_assessed']}", file=sys.stderr)
    for note in notes:
        print(note, file=sys.stderr)
    if "gate" in view and not view["gate"]["applied"]:
        print("gate not applied: nothing was assessed (exit 9)", file=sys.stderr)
    if violations:
        from storage.gates import format_violations

        print(format_violations(violations, run_id), file=sys.stderr)
        code = ExitCode.GATE if code in (ExitCode.OK, ExitCode.PARTIAL) else code
    # The file --write-baseline names could not be written (checked before the run, so rare): the
    # step that was to produce it must not pass.
    return ExitCode.USAGE if unwritten and code in (ExitCode.OK, ExitCode.PARTIAL, ExitCode.GATE) else code


def apply_gates(view: dict[str, Any], code: int, gates: tuple[Any, Any, Any], split: Any, judge: Any) -> list[Any]:
    """Judge the run with the gates ``(fail_on, min_score, min_coverage)`` and record the verdict in
    ``view["gate"]``; the violations. ``judge(new_failing)`` evaluates them (``new_failing``: with a
    baseline ``split``, the failing rows it does not accept). A run over nothing is not judged."""
    fail_on, min_score, min_coverage = gates
    if not (fail_on or min_score or min_coverage):
        return []
    if code == ExitCode.NOTHING_ASSESSED:
        view["gate"] = {"applied": False, "passed": None, "reason": "nothing was assessed", "violations": []}
        return []
    violations = judge(split.new_failing if split is not None else None)
    view["gate"] = {
        "applied": True,
        "passed": not violations,
        "fail_on": fail_on,
        "min_score": min_score,
        "min_coverage": min_coverage,
        "violations": [v.as_dict() for v in violations],
    }
    if split is not None:  # --fail-on judged only the findings this baseline does not accept
        view["gate"]["baseline"] = split.source
    return list(violations)


def judge(
    db: Any,
    run_id: str,
    fail_on: str | None,
    min_score: dict[str, float],
    min_coverage: dict[str, float] | None,
    new_failing: list[Any] | None = None,
) -> list[Any]:
    """The gate's violations for a stored run, fail-on ones listing the failing objects.
    ``new_failing``: with a baseline, the failing rows it does not accept (all ``--fail-on`` counts)."""
    from storage.gates import evaluate_gates, gate_findings
    from storage.queries import run_summary

    summary = run_summary(db, run_id)
    failing = summary.get("failing_by_severity") or {}
    wanted = fail_on and new_failing is None and any(failing.values())
    findings = gate_findings(db, run_id, fail_on) if wanted else []
    return evaluate_gates(
        summary,
        fail_on=fail_on,
        min_score=min_score,
        min_coverage=min_coverage,
        findings=findings,
        new_failing=new_failing,
    )


def _baseline(
    db: Any, run_id: str, view: dict[str, Any], code: int, options: BaselineOptions
) -> tuple[Any, list[str], bool]:
    """:func:`apply_baseline` to a stored run's findings (read only when they are compared)."""

    def rows() -> list[dict[str, Any]]:
        from storage.findings import run_findings

        return run_findings(db, run_id)

    return apply_baseline(rows, view, code, options)


def apply_baseline(
    findings: Any, view: dict[str, Any], code: int, options: BaselineOptions
) -> tuple[Any, list[str], bool]:
    """Compare the run's findings (``findings()``: its failing and warning rows) with the baseline
    and write the new one: the split (or None), the lines stderr is to show, and whether writing
    failed. The split goes into ``view`` under ``baseline``. ``kwa run`` and ``kwa lint`` both end here."""
    from kwa.baseline import BaselineError, split, write_baseline

    state = view["run"].get("state")
    if code == ExitCode.NOTHING_ASSESSED or state not in BASELINE_STATES:
        why = "nothing was assessed" if code == ExitCode.NOTHING_ASSESSED else f"the run ended {state}"
        done = [f"not compared with baseline {options.compare.source}"] if options.compare is not None else []
        done += [f"baseline {options.write} not written"] if options.write else []
        return None, [f"{' and '.join(done)}: {why}"], False
    rows = findings()
    not_executed = view.get("checks_not_executed") or {}
    evaluated = [c for c in view["run"].get("check_ids") or [] if c not in not_executed]
    result, notes = None, []
    if options.compare is not None:
        result = split(rows, options.compare, checks=evaluated)
        view["baseline"] = result.as_dict()
        notes.append(result.summary())
    if options.write:
        try:
            written = write_baseline(rows, options, result)
        except BaselineError as exc:
            return result, [*notes, f"error: {exc}"], True
        else:
            note = f"baseline {options.write} written: {len(written.entries)} entr"
            note += "y" if len(written.entries) == 1 else "ies"
            if not_executed:
                kept = "their entries carried over from the baseline" if result else "their findings are not in it"
                note += f" (partial run: {len(not_executed)} check(s) did not run; {kept})"
            notes.append(note)
    return result, notes, False


def gate(
    db: Any,
    run_id: str,
    code: int,
    fail_on: str | None,
    min_score: dict[str, float],
    min_coverage: dict[str, float] | None = None,
) -> int:
    """Apply the CI gates to a run whose report is out: print which rule rejected the run and the
    failing objects. A run that assessed nothing (``code`` 9) is not judged."""
    if not (fail_on or min_score or min_coverage):
        return code
    if code == ExitCode.NOTHING_ASSESSED:
        print("gate not applied: nothing was assessed (exit 9)", file=sys.stderr)
        return code
    from storage.gates import format_violations

    violations = judge(db, run_id, fail_on, min_score, min_coverage)
    if not violations:
        return code
    print(format_violations(violations, run_id), file=sys.stderr)
    return ExitCode.GATE if code in (ExitCode.OK, ExitCode.PARTIAL) else code


def outcome_code(view: dict[str, Any]) -> int:
    """The exit code of the run ``view`` shows: its state's, or 9 when it assessed nothing."""
    if view.get("nothing_assessed"):
        return ExitCode.NOTHING_ASSESSED
    return state_exit(view["run"].get("state"))


def run_view(db: Any, run_id: str) -> dict[str, Any]:
    """Everything the report shows, read back from storage (the same for any run, any process)."""
    from storage.runs import get_history, get_run

    run = get_run(db, run_id) or {"run_id": run_id, "state": "failed"}
    return view_of(run, get_history(db, run_id) or {})


def _framework_reading(db: Any, run_id: str, name: str) -> tuple[Any, Any, dict[str, Any]] | None:
    """``(run, report, payload)`` of ``run_id`` read as framework ``name``; None (said on stderr)
    when it cannot be read: the run's own report and exit code do not depend on it."""
    from kwa.views.frameworks import framework_option, report_payload, run_report

    try:
        run, report = run_report(db, framework_option(name), run_id)  # type: ignore[arg-type]
    except Exception as exc:
        print(f"framework {name}: not read: {exc}", file=sys.stderr)
        return None
    return run, report, report_payload(run, report)


def view_of(run: dict[str, Any], history: dict[str, Any]) -> dict[str, Any]:
    """The report of ``run`` (a ``runs`` row as a dict, its ``summary`` the snapshot's facts) and its
    history row: what ``kwa run`` reads back from storage and ``kwa lint`` holds in memory."""
    from checks.registry import load_all

    registry = load_all()
    pillars: dict[str, dict[str, int]] = {}
    for check_id in run.get("check_ids") or []:
        if check_id in registry:
            entry = pillars.setdefault(registry.by_id(check_id).pillar.value, dict.fromkeys(("checks", *STATUSES), 0))
            entry["checks"] += 1
    for pillar, counts in (history.get("pillar_counts") or {}).items():
        entry = pillars.setdefault(pillar, dict.fromkeys(("checks", *STATUSES), 0))
        for status, n in counts.items():
            entry[status] = entry.get(status, 0) + n
    facts = run.get("summary") or {}
    counts = {s: int(history.get(f"{s}_count") or 0) for s in STATUSES} if history else None
    return {
        "run": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in run.items() if k != "summary"},
        "pillars": pillars,
        "scores": history.get("scores"),
        "checks_not_executed": facts.get("checks_not_executed") or {},
        "problems": facts.get("problems") or [],
        "problems_total": facts.get("problems_total") or len(facts.get("problems") or []),
        "unavailable": facts.get("unavailable") or {},
        "exemption_audit": facts.get("exemption_audit") or [],
        "objects": facts.get("objects"),
        # requests and bytes a live read cost the API server (None for manifests)
        "api_server": facts.get("api_server"),
        # why the run assessed nothing (storage.assessed), or None: exit 9, said in the report
        "nothing_assessed": nothing_assessed(run, counts),
    }


def report(db: Any, run_id: str, output: str, ending: Ending | None = None) -> int:
    """The report of a run without gates (``kwa runs rerun|resume``); its exit code."""
    return conclude(db, run_id, output, ending, None, {}, None)


def render(view: dict[str, Any], output: str) -> None:
    if output == "json":
        print(json.dumps(view, indent=2, default=str))
        return
    if output == "yaml":
        import yaml

        print(yaml.safe_dump(json.loads(json.dumps(view, default=str)), sort_keys=False))
        return
    from cli.formatters.report import run_report

    # Presentation lives in cli/: every stored text is literal there (no Rich markup from a cluster).
    run_report(view, problems_shown=PROBLEMS_SHOWN)
