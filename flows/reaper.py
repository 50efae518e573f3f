"""The reaper as a flow, for a scheduled deployment: fail runs whose runner is gone."""

from __future__ import annotations

from datetime import timedelta

from prefect import flow, get_run_logger


@flow(name="kwa-reaper", log_prints=False)
def reaper(grace_minutes: float = 10.0) -> list[tuple[str, str]]:
    """Crash recovery: a run whose runner crashed ends ``failed`` (docs/lifecycle.md#reaper); see
    :func:`flows.control.reap`."""
    from flows.control import reap
    from redaction import install
    from storage.db import Database

    install(prefect=True)

    logger = get_run_logger()
    done = reap(Database(), grace=timedelta(minutes=grace_minutes))
    for run_id, what in done:
        logger.warning("run %s: %s", run_id, what)
    logger.info("reaper: %d run(s) reconciled", len(done))
    return done
