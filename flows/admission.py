"""Requesting a run: its scope, the parameters a rerun repeats, and deduplication.

A request becomes a ``queued`` run in kwa's database, or, when an identical run (same cluster,
scope, checks and source) is already queued or running, that run (docs/lifecycle.md#dedup).
Both the parent flow and the CLI request runs through :func:`request_run`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from checks.model import CheckDefinition
from checks.sources.resolve import SourceSpec

if TYPE_CHECKING:  # SQLAlchemy is imported when a run is requested, not with scope_of (kwa lint)
    from storage.db import Database


def scope_of(pillars: list[str] | None, checks: list[str] | None) -> str:
    """``single`` / ``custom`` for named checks, ``pillar`` for named pillars, else ``full``."""
    if checks:
        return "single" if len(checks) == 1 else "custom"
    return "pillar" if pillars else "full"


def request_run(
    db: Database,
    *,
    selected: list[CheckDefinition],
    pillars: list[str] | None,
    checks: list[str] | None,
    cluster_id: str,
    source: str,
    trigger: str,
    parameters: dict[str, Any] | None = None,
    force_new: bool = False,
    rerun_of: str | None = None,
    resume_of: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """A queued run for this scope, or the identical one already queued/running: ``(run, created)``."""
    from storage.queue import enqueue_run

    return enqueue_run(
        db,
        force_new=force_new,
        parameters=parameters,
        scope=scope_of(pillars, checks),
        pillars=sorted({c.pillar.value for c in selected}),
        check_ids=[c.id for c in selected],
        cluster_id=cluster_id,
        source=source,
        trigger=trigger,
        rerun_of=rerun_of,
        resume_of=resume_of,
    )


def request_again(
    db: Database,
    run_id: str,
    *,
    resume: bool,
    trigger: str,
    select: Callable[[list[str] | None, list[str] | None], list[CheckDefinition]],
) -> tuple[dict[str, Any], dict[str, Any], list[CheckDefinition]]:
    """The new run a rerun or resume of ``run_id`` asks for: ``(run, parameters, selected)``.

    A resume repeats only the checks still owed. The original run's CEL check folders are loaded
    again first, so that its selection can name them (``CheckRegistrationError`` when they no
    longer load). ``select`` turns pillars and check ids into definitions, failing as its caller
    wants an unknown id reported.
    """
    from flows.control import require_run, rerun_parameters

    params, checks = rerun_parameters(db, run_id, only_unfinished=resume)
    original = require_run(db, run_id)
    if resume:
        params = {**params, "checks": checks, "pillars": None}
    from checks.dynamic import scoped

    # Loaded only to select from: the run's flow loads them again where it runs, and the
    # serving process keeps no check of one run's folder for the next request.
    with scoped():
        if params.get("checks_dirs"):
            from checks.cel.files import load_paths

            load_paths(params["checks_dirs"])
        selected = select(params.get("pillars"), params.get("checks"))
    run, _ = request_run(
        db,
        selected=selected,
        pillars=params.get("pillars"),
        checks=params.get("checks"),
        cluster_id=original["cluster_id"],
        source=original["source"],
        trigger=trigger,
        parameters=params,
        force_new=True,
        rerun_of=None if resume else run_id,
        resume_of=run_id if resume else None,
    )
    return run, params, selected


def run_parameters(
    spec: SourceSpec,
    pillars: list[str] | None,
    checks: list[str] | None,
    check_timeout: float,
    run_timeout: float | None,
    config_path: str | None,
    checks_dirs: list[str] | None = None,
) -> dict[str, Any]:
    """What a rerun needs to repeat this run exactly (stored with the run)."""
    extra = {"checks_dirs": list(checks_dirs)} if checks_dirs else {}  # absent: the rows of older runs
    return {
        **extra,
        "source": spec.to_dict(),
        "pillars": pillars,
        "checks": checks,
        "check_timeout": check_timeout,
        "run_timeout": run_timeout,
        "config_path": config_path,
    }
