"""A finished run lets go of its snapshot without the cyclic collector's help.

``gc.freeze`` keeps the snapshot out of every collection while the checks run; unfrozen while it
is still reachable, the next full collection walks every object of it (it came during the run's
exit). So the run's ties to it are cut first (``ExecutingRun.detach``, the writer's error handler
dropped on close, ``flows.steps.release``) and the snapshot is freed by reference counting alone.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from checks.config import Config
from checks.sources.resolve import SourceSpec, load
from flows import executing
from flows.steps import Job, release
from storage.background_writer import BackgroundWriter

FIXTURES = Path(__file__).resolve().parents[1] / "checks" / "fixtures"


def test_release_frees_the_snapshot_by_reference_counting() -> None:
    config = Config.load(None)
    was_enabled = gc.isenabled()
    gc.disable()  # only reference counting may free it
    try:
        snapshot = load(SourceSpec("manifests", paths=[str(FIXTURES)]), deadline=None, limits=config.limits)
        snapshot.prepare()  # its indexes, some of which refer back to it
        ref = weakref.ref(snapshot)
        job = Job(db=None, spec=None, config=config, selected=[])  # type: ignore[arg-type]
        job.snapshot = snapshot
        del snapshot
        ctx = executing.ExecutingRun("run_x", job.snapshot, config, None)
        ctx.batch = object()
        ctx.detach()
        assert ctx.snapshot is None and ctx.batch is None
        release(job)
        assert job.snapshot is None
        assert ref() is None
    finally:
        if was_enabled:
            gc.enable()


def test_a_closed_writer_drops_its_error_handler() -> None:
    class Quiet:
        run_id = "run_x"
        written = 0

    writer = BackgroundWriter(Quiet(), on_error=lambda exc: None)  # type: ignore[arg-type]
    writer.close(timeout=5)
    assert writer._on_error is None
