"""What ``kwa query assessments history|diff`` print: runs of one cluster and one scope over time,
and what changed between two of them (like with like unless the options say otherwise)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from cli.errors import UsageError
from cli.formatters import table
from cli.formatters.common import run_brief
from cli.formatters.csvout import write_csv
from kwa.exit_codes import ExitCode
from kwa.views.assessments import Options, active_note, write_structured
from storage.db import Database
from storage.enums import STATUSES
from storage.history import ClusterChoice
from storage.queries import active_run_count, resolve_run
from storage.scopes import Scope

# -- history ------------------------------------------------------------------------------------


def history_scope(args: Options) -> Scope | None:
    """``--scope LABEL`` / ``--any-scope`` (None: let storage pick, full runs first)."""
    from storage.scopes import ANY, ScopeError

    label = getattr(args, "scope", None)
    if getattr(args, "any_scope", False):
        if label:
            raise UsageError("--scope and --any-scope exclude each other")
        return ANY
    if not label:
        return None
    try:
        return Scope.parse(label)
    except ScopeError as exc:
        raise UsageError(str(exc)) from None


def ask_cluster(choice: ClusterChoice) -> str:
    """On a terminal, ask which cluster (numbered list); elsewhere the choice is a usage error (exit 2)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise choice
    from storage.history import cluster_line

    clusters = choice.clusters
    print(f"runs of {len(clusters)} clusters are stored; which one?", file=sys.stderr)
    for i, c in enumerate(clusters, 1):
        print(f"  {i:>3}  {cluster_line(c)}", file=sys.stderr)
    try:
        answer = input(f"cluster [1-{len(clusters)} or its id]: ").strip()
    except EOFError:
        raise choice from None
    if answer.isascii() and answer.isdigit() and 1 <= int(answer) <= len(clusters):
        return str(clusters[int(answer) - 1]["cluster_id"])
    if any(c["cluster_id"] == answer for c in clusters):
        return answer
    raise UsageError(f"no cluster {answer!r} among the {len(clusters)} listed: name one with --cluster ID")


def cmd_history(db: Database, args: Options, out: TextIO) -> int:
    from cli import history  # pandas and matplotlib: loaded for history only
    from storage.history import cluster_history

    since = args.since
    scope = history_scope(args)
    if args.plot:
        history.check_plot_path(args.plot)  # before asking anything of the database
    try:
        found = cluster_history(db, args.cluster, since, args.limit, scope)
    except ClusterChoice as choice:
        found = cluster_history(db, ask_cluster(choice), since, args.limit, scope)
    cluster_id, label = found.cluster_id, found.scope.label
    pillars, records, frame = history.aggregate(found.rows)
    if args.plot:
        what = history.plot(cluster_id, pillars, frame, args.plot, label)
        print(f"plot of {what} for {len(records)} run(s) (scope {label}) written to {args.plot}", file=sys.stderr)
    fmt = args.output
    payload = {
        "cluster_id": cluster_id,
        "scope": label,
        "scope_chosen": found.chosen,
        "other_scopes": found.other_scopes,
        "pillars": pillars,
        "items": records,
    }
    if write_structured(fmt, "AssessmentHistory", payload, out):
        return ExitCode.OK
    if fmt == "csv":
        write_csv(*history_csv_rows(records, pillars), out)
        if found.other_scopes:
            print(other_scopes_note(found.other_scopes, label), file=sys.stderr)
        return ExitCode.OK
    if not records:
        print(f"cluster {cluster_id} has no finished {label} runs" + (" in this range" if since else ""), file=out)
        if found.other_scopes:
            print(other_scopes_note(found.other_scopes, label), file=out)
        if active_run_count(db, cluster_id):
            print(active_note(db, cluster_id), file=out)
        return ExitCode.OK
    table.history_table(cluster_id, records, pillars, out, scope=label)
    if found.other_scopes:
        print(other_scopes_note(found.other_scopes, label), file=out)
    return ExitCode.OK


def history_csv_rows(records: list[dict[str, Any]], pillars: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The CSV columns of a history and its rows, flat (``kwa query … history -o csv`` and the API)."""
    columns = ["run_id", "finished_at", "state", "trigger", "scope", "total", *STATUSES]
    columns += ["overall_score", "overall_grade", "overall_coverage", "incomplete"]
    columns += [f"{p}_score" for p in pillars] + [f"{p}_failing" for p in pillars]
    columns += ["delta_overall_score", "delta_failing"] + [f"delta_{p}_score" for p in pillars]
    flat = []
    for r in records:
        row = {**r, **r["counts"]}
        row["incomplete"] = ",".join((["overall"] if r["overall_incomplete"] else []) + r["pillar_incomplete"])
        row.update({f"{p}_score": r["pillar_scores"][p] for p in pillars})
        row.update({f"{p}_failing": r["pillar_counts"][p].get("failing", 0) for p in pillars})
        row["delta_overall_score"] = r["delta"]["overall_score"]
        row["delta_failing"] = r["delta"]["failing"]
        row.update({f"delta_{p}_score": r["delta"]["pillar_scores"][p] for p in pillars})
        flat.append(row)
    return columns, flat


def other_scopes_note(others: Mapping[str, int], shown: str) -> str:
    """``not shown: 3 runs of other scopes (check:SEC-001 ×2, pillar:security ×1); --scope LABEL or --any-scope``."""
    n = sum(others.values())
    listed = ", ".join(f"{label} ×{count}" for label, count in list(others.items())[:5])
    more = f", … {len(others) - 5} more" if len(others) > 5 else ""
    return (
        f"not shown: {n} run{'s' if n != 1 else ''} of other scopes than {shown} ({listed}{more}); "
        "--scope LABEL shows one of them, --any-scope all runs together"
    )


# -- diff ---------------------------------------------------------------------------------------

DIFF_COLUMNS = (
    "change",
    "check_id",
    "check_name",
    "pillar",
    "severity",
    "object_kind",
    "object_namespace",
    "object_name",
    "container",
    "before",
    "after",
    "message",
)


def cmd_diff(db: Database, args: Options, out: TextIO) -> int:
    from storage.history import diff_runs, pick_pair, require_comparable

    any_scope, any_cluster = bool(getattr(args, "any_scope", False)), bool(getattr(args, "any_cluster", False))
    if len(args.runs) == 1:
        raise UsageError("diff takes two run ids (RUN_A RUN_B), or none for the latest two like runs of a cluster")
    if args.runs:
        if getattr(args, "scope", None):
            raise UsageError("--scope picks the runs to compare: give it without run ids")
        run_a, run_b = (resolve_run(db, r) for r in args.runs)
        if args.cluster is not None and args.cluster not in (run_a["cluster_id"], run_b["cluster_id"]):
            raise UsageError(f"--cluster {args.cluster}: neither run belongs to it")
        require_comparable(run_a, run_b, any_scope=any_scope, any_cluster=any_cluster)
        how = "the two runs asked for"
    else:
        if any_cluster:
            raise UsageError("--any-cluster applies to two run ids given: without them, diff stays within a cluster")
        run_a, run_b, how = pick_pair(db, args.cluster, history_scope(args))
    diff = diff_runs(db, run_a["run_id"], run_b["run_id"])
    diff["compared"].update(how=how, picked=not args.runs)
    fmt = args.output
    if write_structured(
        fmt, "AssessmentDiff", {**diff, "run_a": run_brief(diff["run_a"]), "run_b": run_brief(diff["run_b"])}, out
    ):
        return ExitCode.OK
    if fmt == "csv":
        rows = []
        for key in ("new_failures", "fixed", "still_failing", "changed", "results_disappeared"):
            rows += [{**item, "change": key} for item in diff[key]]
        write_csv(DIFF_COLUMNS, rows, out)
        print(diff_line(diff), file=sys.stderr)  # which two runs: the CSV itself has no place for it
        return ExitCode.OK
    table.diff_table(diff, out, args.max_rows)
    return ExitCode.OK


def diff_line(diff: Mapping[str, Any]) -> str:
    """``compared run_… (2026-02-10 09:00:00, full) → run_… (…, full), cluster prod-eu: <how>``."""
    from cli.formatters.common import fmt_time

    compared = diff["compared"]
    a, b = diff["run_a"], diff["run_b"]
    sa, sb = compared["scopes"]
    cluster = compared["cluster_id"] or " vs ".join(compared["clusters"])
    return (
        f"compared {a['run_id']} ({fmt_time(a['requested_at'])}, {sa}) → {b['run_id']} "
        f"({fmt_time(b['requested_at'])}, {sb}), cluster {cluster}: {compared.get('how', '')}"
    ).rstrip(": ")
