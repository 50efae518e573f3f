"""SIGINT / SIGTERM become an orderly abort (the end-to-end proof is tests/faults/test_process_signals.py)."""

from __future__ import annotations

import signal

import pytest

from flows import signals


@pytest.fixture(autouse=True)
def _fresh() -> None:
    signals.reset()
    yield
    signals.reset()


def test_the_first_signal_asks_every_listener_to_stop(capsys: pytest.CaptureFixture[str]) -> None:
    heard: list[str] = []
    remove = signals.on_stop(heard.append)
    signals._handler(signal.SIGTERM, None)
    assert heard == ["interrupted by SIGTERM"] and signals.stop_reason() == "interrupted by SIGTERM"
    assert "SIGTERM received: stopping the run (recorded as aborted" in capsys.readouterr().err
    remove()
    late: list[str] = []
    signals.on_stop(late.append)  # a run that starts after the signal stops at once
    assert late == ["interrupted by SIGTERM"]


def test_a_third_signal_gives_up_on_the_orderly_stop(capsys: pytest.CaptureFixture[str]) -> None:
    signals._handler(signal.SIGINT, None)
    signals._handler(signal.SIGINT, None)
    assert "still stopping" in capsys.readouterr().err
    with pytest.raises(KeyboardInterrupt):
        signals._handler(signal.SIGINT, None)
    assert signals.stop_reason() == "interrupted by SIGINT"


def test_a_signal_cancels_every_run_of_the_process() -> None:
    from flows import executing

    class Run:
        run_id = "r1"
        reason = None

        def cancel(self, reason: str) -> None:
            self.reason = reason

    run = Run()
    executing.register(run)  # type: ignore[arg-type]
    try:
        signals.on_stop(executing.cancel_all)
        signals.request_stop("interrupted by SIGINT")
        assert run.reason == "interrupted by SIGINT"
    finally:
        executing.unregister("r1")
