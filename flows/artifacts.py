"""The run in the Prefect UI's Artifacts page (docs/prefect-ui.md#the-findings-two-clicks).

A progress artifact advances as checks finish; at the end two Markdown artifacts: the summary
(outcome, scores, the most severe failing checks) and the findings (one block per failing check
with its remediation and its objects, each with ``file:line``). Keys are per cluster, so the
Artifacts page keeps each cluster's history. Publishing is best effort: it never fails a run.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import Any

from flows.findings_md import findings_markdown, md
from flows.slots import slug
from storage.enums import STATUSES
from storage.grades import number_text, percent_text, score_text

logger = logging.getLogger("kwa.lifecycle")

PROGRESS_INTERVAL = 1.0


class Progress:
    """A Prefect progress artifact advanced as checks finish (best effort: never fails a run).

    Updates are sent from a background thread, at most once per ``PROGRESS_INTERVAL`` seconds
    and once at the end, so the API round trips never sit on the path of the checks.
    """

    def __init__(self, cluster_id: str, total: int, description: str):
        self.total = max(total, 1)
        self.done = 0
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._closed = threading.Event()
        self._key = f"kwa-{slug(cluster_id)}-progress"
        self._description = description
        # The flow run's context travels with the thread, so the artifact belongs to the run.
        run_in_context = contextvars.copy_context().run
        self._thread = threading.Thread(target=run_in_context, args=(self._loop,), name="kwa-progress", daemon=True)
        self._thread.start()

    def advance(self) -> None:
        with self._lock:  # the batch's lane threads report checks as they end
            self.done += 1
        self._changed.set()

    def close(self, timeout: float = 5.0) -> None:
        self._closed.set()
        self._changed.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        try:
            from prefect.artifacts import create_progress_artifact, update_progress_artifact

            artifact_id = create_progress_artifact(progress=0.0, key=self._key, description=self._description)
        except Exception as exc:  # the UI bar is a courtesy: the run goes on without it
            logger.debug("progress artifact: %s", exc)
            return
        sent = 0
        while True:
            self._changed.wait()
            self._changed.clear()
            done = self.done
            if done != sent:
                try:
                    update_progress_artifact(artifact_id, progress=round(100.0 * done / self.total, 1))
                    sent = done
                except Exception as exc:  # a missed update is caught up by the next one
                    logger.debug("progress artifact update: %s", exc)
            if self._closed.is_set():
                return
            self._closed.wait(PROGRESS_INTERVAL)  # paced, but close() is never kept waiting


def publish_summary(
    cluster_id: str,
    run: dict[str, Any],
    pillars: dict[str, dict[str, int]],
    scores: dict[str, Any] | None,
    failing: list[dict[str, Any]],
    top: list[tuple[str, str, int]],
) -> None:
    """The run's outcome in the Prefect UI: a Markdown summary and the findings, most severe first
    (``failing``: rows of ``storage.findings.failing_results``)."""
    try:
        from prefect.artifacts import create_markdown_artifact

        key = slug(cluster_id)
        create_markdown_artifact(
            markdown=summary_markdown(run, pillars, scores, top, failing),
            key=f"kwa-{key}-summary",
            description=f"kwa run {run['run_id']}: {run['state']}",
        )
        if failing:
            checks = len({r["check_id"] for r in failing})
            create_markdown_artifact(
                markdown=findings_markdown(run, failing),
                key=f"kwa-{key}-failing",
                description=f"findings of run {run['run_id']}: {checks} failing check(s), most severe first",
            )
    except Exception as exc:
        from flows.prefect_link import LINK

        # With the API gone the run has already said so once; a second warning adds nothing.
        (logger.debug if LINK.degraded else logger.warning)("could not publish the run summary artifacts: %s", exc)


def summary_markdown(
    run: dict[str, Any],
    pillars: dict[str, dict[str, int]],
    scores: dict[str, Any] | None,
    top: list[tuple[str, str, int]],
    failing: list[dict[str, Any]] | None = None,
) -> str:
    overall = (scores or {}).get("overall") or {}
    lines = [
        f"# kwa run {md(run['run_id'])}",
        "",
        f"- cluster: **{md(run.get('cluster_id'))}**",
        f"- state: **{md(run['state'])}**" + (f" ({md(run['error'])})" if run.get("error") else ""),
        f"- source: {md(run.get('source', ''))}",
    ]
    if overall.get("score") is not None:
        lines.append(
            f"- overall score: **{number_text(overall['score'])}** (grade {overall.get('grade', '-')}, "
            f"coverage {_percent(overall.get('coverage'))})"
        )
    lines += ["", "| pillar | score | " + " | ".join(STATUSES) + " |", "|---" * (len(STATUSES) + 2) + "|"]
    per_pillar = (scores or {}).get("pillars") or {}
    for pillar, counts in pillars.items():
        shown = score_text(per_pillar.get(pillar))  # the one display rule (storage.grades)
        lines.append(f"| {md(pillar)} | {shown} | " + " | ".join(str(counts.get(s, 0)) for s in STATUSES) + " |")
    if top:
        severity = {r["check_id"]: r.get("severity") for r in failing or []}
        lines += [
            "",
            "## Top failing checks (most severe first)",
            "",
            "| check | severity | name | failing |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {md(check_id)} | {md(severity.get(check_id) or '-')} | {md(name)} | {n} |" for check_id, name, n in top
        ]
        if failing:
            lines += ["", "Every failing object, with its manifest line and the fix: the findings artifact."]
    return "\n".join(lines) + "\n"


def _percent(value: Any) -> str:
    """Coverage as scores store it: already a percentage (0-100), None when nothing applied."""
    return percent_text(value) if isinstance(value, int | float) else "n/a"  # cut, never rounded up to 100
