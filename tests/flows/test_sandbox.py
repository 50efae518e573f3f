"""The fork-and-kill deadline holds whatever the function does."""

from __future__ import annotations

import socket
import time

import pytest

from checks.sandbox import ChildDied, ChildError, HardTimeout, run_with_deadline


def test_returns_the_value() -> None:
    assert run_with_deadline(lambda: {"a": [1, 2, 3]}, 5) == {"a": [1, 2, 3]}


def test_large_results_stream_through_the_pipe() -> None:
    big = list(range(300_000))
    assert run_with_deadline(lambda: big, 10) == big


def test_exception_carries_type_and_message() -> None:
    def boom() -> None:
        raise ValueError("no such field")

    with pytest.raises(ChildError, match="ValueError: no such field") as info:
        run_with_deadline(boom, 5)
    assert info.value.exc_type == "ValueError"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda: time.sleep(30), id="sleep"),
        pytest.param(lambda: [0 for _ in iter(int, 1)], id="busy-loop"),
        pytest.param(lambda: sum(range(10**11)), id="long-C-call"),
    ],
)
def test_deadline_is_hard(body) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(HardTimeout):
        run_with_deadline(body, 0.5)
    assert time.monotonic() - started < 1.5


def test_socket_read_without_timeout_is_cut() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def hang() -> bytes:
        s = socket.create_connection(("127.0.0.1", port))
        return s.recv(1)  # the server accepts and never answers

    started = time.monotonic()
    try:
        with pytest.raises(HardTimeout):
            run_with_deadline(hang, 0.5)
    finally:
        server.close()
    assert time.monotonic() - started < 1.5


def test_child_that_exits_without_answer() -> None:
    import os

    with pytest.raises(ChildDied):
        run_with_deadline(lambda: os._exit(3), 5)


def test_a_slow_sibling_does_not_delay_a_quick_check() -> None:
    """Regression: children forked from parallel threads inherit each other's pipes."""
    from concurrent.futures import ThreadPoolExecutor

    def slow() -> None:
        time.sleep(30)

    with ThreadPoolExecutor(2) as pool:
        slow_future = pool.submit(run_with_deadline, slow, 2.0)
        time.sleep(0.05)
        started = time.monotonic()
        assert pool.submit(run_with_deadline, lambda: "quick", 5).result() == "quick"
        assert time.monotonic() - started < 0.5
        with pytest.raises(HardTimeout):
            slow_future.result()


# ---- IsolatedBatch: many jobs per worker process, a deadline per job ---------------------------


def _jobs(behaviour: dict[str, object]):  # type: ignore[no-untyped-def]
    import os as _os

    def run(job_id: str):  # type: ignore[no-untyped-def]
        what = behaviour[job_id]
        if what == "sleep":
            time.sleep(30)
        if what == "raise":
            raise KeyError("missing field")
        if what == "die":
            _os._exit(9)
        return f"{job_id} ok"

    return run


def test_batch_isolates_each_job_and_the_lane_goes_on() -> None:
    from checks.sandbox import IsolatedBatch

    behaviour = {"a": "ok", "b": "sleep", "c": "raise", "d": "ok", "e": "die", "f": "ok"}
    started = time.monotonic()
    batch = IsolatedBatch([(j, 0.5) for j in behaviour], _jobs(behaviour), lanes=1).start()
    kinds = {j: batch.wait(j).kind for j in behaviour}
    assert kinds == {"a": "ok", "b": "timeout", "c": "error", "d": "ok", "e": "died", "f": "ok"}
    assert batch.wait("a").unwrap(0.5) == "a ok"
    with pytest.raises(ChildError, match="KeyError: 'missing field'"):
        batch.wait("c").unwrap(0.5)
    with pytest.raises(HardTimeout, match=r"0\.5s timeout"):
        batch.wait("b").unwrap(0.5)
    assert time.monotonic() - started < 0.5 + 1.0


def test_batch_lanes_run_in_parallel() -> None:
    from checks.sandbox import IsolatedBatch

    behaviour = {"slow1": "sleep", "slow2": "sleep"}
    started = time.monotonic()
    batch = IsolatedBatch([(j, 1.0) for j in behaviour], _jobs(behaviour), lanes=2).start()
    assert [batch.wait(j).kind for j in behaviour] == ["timeout", "timeout"]
    assert time.monotonic() - started < 1.8  # two lanes: not 2 x 1 s


def test_batch_respects_the_run_deadline() -> None:
    from checks.sandbox import IsolatedBatch

    behaviour = {"a": "sleep", "b": "ok"}
    batch = IsolatedBatch(
        [(j, 30.0) for j in behaviour], _jobs(behaviour), lanes=1, run_deadline=time.monotonic() + 0.5
    ).start()
    with pytest.raises(HardTimeout, match="run deadline"):
        batch.wait("a").unwrap(30)
    with pytest.raises(HardTimeout, match="run deadline"):
        batch.wait("b").unwrap(30)


def test_batch_cancel_kills_workers_and_leaves_no_result() -> None:
    from checks.sandbox import BatchCancelled, IsolatedBatch

    behaviour = {"a": "ok", "b": "sleep", "c": "ok"}
    batch = IsolatedBatch([(j, 30.0) for j in behaviour], _jobs(behaviour), lanes=1).start()
    assert batch.wait("a").kind == "ok"
    time.sleep(0.2)  # "b" is running
    started = time.monotonic()
    batch.cancel("aborted by a test")
    assert batch.wait("b").kind == "cancelled"
    assert batch.wait("c").kind == "cancelled"
    assert time.monotonic() - started < 0.5
    with pytest.raises(BatchCancelled, match="aborted by a test"):
        batch.wait("c").unwrap(30)


def test_free_lanes_take_the_next_job_and_callbacks_fire_once() -> None:
    from checks.sandbox import IsolatedBatch

    # One slow job first: with lanes fixed in advance, the jobs dealt to its lane would wait.
    behaviour = {"slow": "slow", **{f"quick{i}": "ok" for i in range(6)}}

    def run(job_id: str) -> str:
        if behaviour[job_id] == "slow":
            time.sleep(1.0)
        return job_id

    seen: list[str] = []
    batch = IsolatedBatch([(j, 5.0) for j in behaviour], run, lanes=2)
    for job_id in behaviour:
        batch.add_done_callback(job_id, lambda outcome: seen.append(outcome.job_id))
    started = time.monotonic()
    batch.start()
    quick_done = [batch.wait(f"quick{i}").kind for i in range(6)]
    assert quick_done == ["ok"] * 6
    assert time.monotonic() - started < 0.9  # the other lane took every quick job meanwhile
    assert batch.wait("slow").unwrap(5) == "slow"
    late: list[str] = []
    batch.add_done_callback("slow", lambda outcome: late.append(outcome.kind))  # already done: at once
    assert late == ["ok"]
    assert sorted(seen) == sorted(behaviour)


def test_a_hung_job_calls_in_a_spare_lane_and_the_queue_goes_on() -> None:
    from checks.sandbox import IsolatedBatch

    behaviour = {"hung": "sleep", **{f"quick{i}": "ok" for i in range(5)}}
    batch = IsolatedBatch([(j, 3.0) for j in behaviour], _jobs(behaviour), lanes=2, first_lanes=1, spare_after=0.3)
    started = time.monotonic()
    batch.start()
    assert batch.lanes_started == 1
    assert [batch.wait(f"quick{i}").kind for i in range(5)] == ["ok"] * 5
    assert time.monotonic() - started < 2.0  # the spare took them long before the hung job's deadline
    assert batch.lanes_started == 2
    assert batch.wait("hung").kind == "timeout"


def test_quick_jobs_start_no_spare_lane() -> None:
    from checks.sandbox import IsolatedBatch

    behaviour = {f"quick{i}": "ok" for i in range(8)}
    batch = IsolatedBatch([(j, 5.0) for j in behaviour], _jobs(behaviour), lanes=3, first_lanes=1, spare_after=2.0)
    batch.start()
    assert [batch.wait(j).kind for j in behaviour] == ["ok"] * 8
    assert batch.lanes_started == 1


def test_the_last_job_running_long_calls_in_no_spare() -> None:
    from checks.sandbox import IsolatedBatch

    def run(job_id: str) -> str:
        if job_id == "last":
            time.sleep(0.8)
        return job_id

    batch = IsolatedBatch([("first", 5.0), ("last", 5.0)], run, lanes=2, first_lanes=1, spare_after=0.2).start()
    assert batch.wait("last").unwrap(5) == "last"
    assert batch.lanes_started == 1  # nothing was waiting for a spare


def test_a_large_clusters_slow_checks_call_in_no_spare_sooner_than_they_need() -> None:
    from flows.lanes import SPARE_AFTER, spare_after

    assert spare_after(0) == spare_after(10_000) == SPARE_AFTER == 5.0
    assert spare_after(100_000) == pytest.approx(6.0)
    # 400k objects: the slowest checks take ~15 s (37 µs an object); a spare only after 24 s
    assert spare_after(400_000) == pytest.approx(24.0)


def test_a_large_cluster_is_evaluated_in_a_lane_fewer_with_a_spare() -> None:
    from flows.lanes import FEWER_LANES_FROM, lane_plan

    # A small cluster keeps a lane per core (at most 4), all started at once, no spare.
    assert lane_plan(50, cores=2) == (2, 2, None)
    assert lane_plan(FEWER_LANES_FROM - 1, cores=8) == (4, 4, None)
    assert lane_plan(10, cores=1) == (1, 1, None)
    # A large one: a lane fewer (the parent writes on its own core) and a spare for a slow check.
    assert lane_plan(100_000, cores=2) == (1, 2, pytest.approx(6.0))
    assert lane_plan(400_000, cores=2) == (1, 2, pytest.approx(24.0))
    assert lane_plan(FEWER_LANES_FROM, cores=4) == (3, 4, 5.0)
    assert lane_plan(FEWER_LANES_FROM, cores=1) == (1, 2, 5.0)
