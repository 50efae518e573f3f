"""The baseline options of ``kwa run`` (and ``kwa lint``): checked before anything is assessed; a stored
run resolved before the new one exists.

A bad baseline file, an unusable ``--baseline-expires`` or an unwritable ``--write-baseline`` path is
a usage error (exit 2) before anything is assessed: a pipeline learns of a typo in seconds, not after
the run. ``--baseline-run`` names a stored run (exit 7 when there is none); it is read when kwa's
database is open, before the new run is requested, so ``latest`` is never the run being judged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from cli.errors import UsageError
from kwa.baseline import BaselineOptions
from kwa.errors import NotFound


def baseline_options(a: Any) -> BaselineOptions | None:
    """The options checked, from anything with the attributes ``baseline``, ``baseline_run``,
    ``write_baseline`` and ``baseline_expires`` (``RunOptions``); None when none was given."""
    from kwa.baseline import Baseline, BaselineError, parse_expires

    if a.baseline and a.baseline_run:
        raise UsageError("--baseline and --baseline-run cannot be combined: a run is compared with one baseline")
    if a.baseline_expires and not a.write_baseline:
        raise UsageError("--baseline-expires sets the expiry of the entries --write-baseline writes: give both")
    try:
        compare = Baseline.load(a.baseline) if a.baseline else None
        expires = parse_expires(a.baseline_expires) if a.baseline_expires else None
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    if a.write_baseline:
        _check_writable(a.write_baseline)
    if compare is None and not a.write_baseline and not a.baseline_run:
        return None
    return BaselineOptions(compare, a.write_baseline, expires)


def _check_writable(path: str) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"--write-baseline {path}: is a directory; name the file to write")
    if not folder.is_dir():
        raise UsageError(f"--write-baseline {path}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"--write-baseline {path}: not writable")


def stored_baseline(db: Any, value: str, cluster_id: str, options: BaselineOptions | None) -> BaselineOptions:
    """``--baseline-run RUN_ID|latest`` read into the options: the findings of that run.

    ``latest`` is the last run of ``cluster_id`` that ended completed or partial. A run that is
    still active, failed or aborted is refused: its findings are incomplete, so each missing one
    would later look fixed and each present one new.
    """
    from kwa.baseline import run_entries
    from storage.findings import BASELINE_STATES, baseline_run, run_findings
    from storage.runs import get_run

    if value == "latest":
        run = baseline_run(db, cluster_id)
        if run is None:
            raise NotFound(
                f"--baseline-run latest: cluster {cluster_id!r} has no completed or partial run to compare with "
                "(run once without it, or give --baseline FILE)"
            )
    else:
        run = get_run(db, value)
        if run is None:
            raise NotFound(f"--baseline-run {value}: no such run (`kwa runs list` shows the runs there are)")
        if run.get("state") not in BASELINE_STATES:
            raise UsageError(
                f"--baseline-run {value}: the run is {run.get('state')}; only a completed or partial run is a baseline"
            )
    run_id = run["run_id"]
    rows = run_findings(db, run_id)
    note = f"baseline: run {run_id} ({run.get('state')}, {len(rows)} finding{'s' if len(rows) != 1 else ''})"
    if run.get("cluster_id") != cluster_id:
        note += f"; it assessed cluster {run.get('cluster_id')!r}, this run assesses {cluster_id!r}"
    print(note, file=sys.stderr)
    compare = run_entries(rows, run_id)
    write, expires = (options.write, options.expires) if options else (None, None)
    return BaselineOptions(compare, write, expires)
