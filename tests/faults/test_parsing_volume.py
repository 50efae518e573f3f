"""Many bad documents through the real ``kwa run``: the problems are summarised, never one log line
or one stored string each.

500,000 junk documents used to produce 500,000 Prefect log lines and a 44 MB ``runs.summary``.
Now the first ``limits.problems`` (20) are kept in full and the rest counted: the console, the
Prefect log and the stored run stay the same size whatever the input holds. The limits come from
the config file's ``limits:`` section (validated like every other key) or ``KWA_LIMIT_*``.
"""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

from tests.faults.harness import Kwa, assert_no_traceback
from tests.faults.parsing_docs import CHECKS, assert_assessed, deployment, stream, summary

JUNK = 100_000


def _log_lines(flow_run_id: str) -> list[str]:
    """Every log line Prefect stored for the flow run (its tasks' included)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def read() -> list[str]:
        async with get_client() as client:
            out: list[str] = []
            while True:
                page = await client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(flow_run_id)])),
                    limit=200,
                    offset=len(out),
                )
                out += [log.message for log in page]
                if len(page) < 200:
                    return out

    return asyncio.run(read())


def test_a_hundred_thousand_junk_documents_give_a_bounded_report(kwa: Kwa) -> None:
    junk = "---\n".join(f"junk {i}\n" for i in range(JUNK))
    (kwa.tmp / "junk.yaml").write_text(stream(deployment("web"), junk))
    got = kwa("run", "--manifests", "junk.yaml", "--check", CHECKS, timeout=600)

    run = assert_assessed(got, {"web"})
    facts = summary(run)
    assert len(facts["problems"]) == 20, facts["problems"]
    assert facts["problems"][0] == "junk.yaml (document 1): not a Kubernetes object (a str)"
    assert len(run["summary"] if isinstance(run["summary"], str) else json.dumps(run["summary"])) < 20_000
    assert facts["problems_total"] == JUNK and facts["problems_by_kind"] == {"not-an-object": JUNK}
    assert facts["read"] == {"inputs": 1, "read": 1, "bytes": facts["read"]["bytes"], "documents": JUNK + 1,
                             "empty": 0, "objects": 1}
    # The console lists the first 10 and counts the rest, pointing at the run that keeps the first 20;
    # Prefect's log has the 20 and the count of all.
    listed = [line for line in got.text.splitlines() if line.startswith("skipped input ")]
    assert len(listed) == 10, got.text[-3000:]
    assert f"… {JUNK - 10} more skipped input(s) ({JUNK} in all; the first 20 are kept with the run" in got.text
    logs = _log_lines(run["prefect_flow_run_id"])
    assert f"{JUNK:,} inputs skipped ({JUNK:,} not a Kubernetes object); the first 20 follow" in logs
    assert len([line for line in logs if line.startswith("skipped input")]) == 20
    assert len(logs) < 200, len(logs)


def test_the_config_limits_cap_documents_and_problems(kwa: Kwa) -> None:
    (kwa.tmp / "kwa.yaml").write_text("limits:\n  documents: 1000\n  problems: 3\n")
    junk = "---\n".join(f"- junk {i}\n" for i in range(5000))
    (kwa.tmp / "app.yaml").write_text(stream(deployment("web"), deployment("api"), junk))
    got = kwa("run", "--config", "kwa.yaml", "--manifests", "app.yaml", "--check", CHECKS)

    run = assert_assessed(got, {"web", "api"})
    facts = summary(run)
    assert facts["problems"] == [f"app.yaml (document {i}): not a Kubernetes object (a list)" for i in (2, 3, 4)]
    listed = [line for line in got.text.splitlines() if line.startswith("skipped input ")]
    assert len(listed) == 3 and "… 996 more skipped input(s) (999 in all; the first 3 are kept" in got.text
    assert facts["problems_total"] == 999
    assert facts["problems_by_kind"] == {"not-an-object": 998, "limit": 1}
    assert facts["read"]["documents"] == 1000


def test_limits_from_the_environment_apply_to_one_run(kwa: Kwa) -> None:
    shared = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: shop}\n" \
             "data:\n  a: &a x\n  b: *a\n  c: *a\n"
    (kwa.tmp / "app.yaml").write_text(stream(deployment("web"), shared))
    got = kwa("run", "--manifests", "app.yaml", "--check", CHECKS, KWA_LIMIT_ALIASES="1")

    run = assert_assessed(got, {"web"})
    assert summary(run)["problems"] == [
        "app.yaml (document 1): more than limits.aliases (1) aliases; the last refers to the anchor (line 15, column 6)"
    ]


def test_a_mistyped_limit_is_a_usage_error_naming_it(kwa_offline: Kwa) -> None:
    (kwa_offline.tmp / "kwa.yaml").write_text("limits:\n  depht: 50\n")
    (kwa_offline.tmp / "app.yaml").write_text(deployment("web"))
    got = kwa_offline("run", "--config", "kwa.yaml", "--manifests", "app.yaml")

    assert_no_traceback(got.out, got.err)
    assert got.code == 2, got.text
    assert "limits.depht: unknown limit; known limits: file_bytes, input_bytes, documents" in got.err
    assert not got.runs()

    got = kwa_offline("run", "--manifests", "app.yaml", KWA_LIMIT_DEPTH="deep")
    assert_no_traceback(got.out, got.err)
    assert got.code == 2, got.text
    assert "KWA_LIMIT_DEPTH: expected a whole number, got 'deep'" in got.err
