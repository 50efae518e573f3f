"""Helpers shared by the formatters: JSON-safe values, run briefs, object references, and the way
numbers, durations and ages are shown (one rule: :mod:`storage.grades`, cut toward zero, never
rounded)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from storage.grades import INCOMPLETE_BELOW, coverage_text, cut, percent_text, score_text

STATUS_STYLE = {
    "passing": "green",
    "failing": "bold red",
    "warning": "yellow",
    "skipped": "dim",
    "error": "magenta",
    "timeout": "magenta",
}
STATE_STYLE = {
    "completed": "green",
    "partial": "yellow",
    "failed": "red",
    "aborted": "magenta",
    "running": "cyan",
    "queued": "blue",
}
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
WARNING_MARK = "⚠"
RUN_BRIEF_KEYS = (
    "run_id",
    "cluster_id",
    "state",
    "scope",
    "trigger",
    "source",
    "requested_at",
    "started_at",
    "completed_at",
    "error",
)


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 strings, NaN as None, tuples as lists, recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars from pandas
        return jsonable(value.item())
    return value


def run_brief(run: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {k: run.get(k) for k in RUN_BRIEF_KEYS}


def object_ref(row: Mapping[str, Any]) -> str:
    """``Kind/namespace/name[:container]`` (``Kind/name`` when cluster-scoped; ``-`` for run-level)."""
    kind, ns, name = row.get("object_kind"), row.get("object_namespace"), row.get("object_name")
    if not kind and not name:
        return "-"
    ref = "/".join([p if type(p) is str else str(p) for p in (kind, ns, name) if p])
    container = row.get("container")
    return f"{ref}:{container}" if container else ref


def fmt_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "-" if value is None else str(value)


def fmt_score(entry: Any) -> str:
    """``78.5 (C)``, ``91.4 (D, capped)``, ``incomplete`` or ``-`` (:func:`storage.grades.score_text`)."""
    return score_text(entry)


def fmt_coverage(entry: Any) -> str:
    """``69 %`` from a score dict (or a number), ``-`` when there is none."""
    return coverage_text(entry.get("coverage") if isinstance(entry, Mapping) else entry)


SCORE_LEGEND = {
    "capped": "capped: the grade is held down by coverage (never better than the band the coverage reaches)",
    "incomplete": f"incomplete: under {INCOMPLETE_BELOW:g} % of the applicable checks could be evaluated, so no score",
}


def score_legend(entries: Any) -> list[str]:
    """The legend lines for the markers among ``entries`` (score dicts), in a fixed order."""
    texts = {fmt_score(e) for e in entries}
    out = []
    if any(t.endswith(", capped)") for t in texts):
        out.append(SCORE_LEGEND["capped"])
    if "incomplete" in texts:
        out.append(SCORE_LEGEND["incomplete"])
    return out


def not_evaluated_lines(scores: Any, limit: int = 10) -> list[str]:
    """What kept the coverage below 100 %: one line per (reason, message), its checks named.

    ``SEC-002 (security) resource-not-listed: cannot evaluate, …`` for a reason of one check;
    ``resource-not-listed, 45 checks (REL-001, … and 39 more): cannot evaluate, …`` when many
    share it (a 403 on one kind errors every check that needs it). At most ``limit`` lines, then
    ``… and N more``. Plain text: the callers print it as literal text, never as markup.
    """
    entries = [
        e
        for e in ((scores or {}).get("not_evaluated") or [] if isinstance(scores, Mapping) else [])
        if isinstance(e, Mapping) and e.get("applicable", True)
    ]
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for e in entries:
        groups.setdefault((str(e.get("why")), " ".join(str(e.get("message") or "").split())), []).append(e)
    lines = []
    for (why, message), members in list(groups.items())[:limit]:
        tail = f": {message}" if message else ""
        if len(members) == 1:
            e = members[0]
            where = f" ({e['pillar']})" if e.get("pillar") else ""
            evaluated = e.get("evaluated")
            partly = isinstance(evaluated, float) and 0 < evaluated < 1
            part = f", {percent_text(evaluated * 100)} evaluated" if partly else ""
            lines.append(f"{e.get('check_id')}{where} {why}{part}{tail}")
        else:
            ids = [str(e.get("check_id")) for e in members]
            shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
            lines.append(f"{why}, {len(ids)} checks ({shown}){tail}")
    if len(groups) > limit:
        rest = sum(len(m) for m in list(groups.values())[limit:])
        lines.append(f"… and {rest} more check{'s' if rest != 1 else ''} (-o json lists every one)")
    return lines


def fmt_ms(ms: Any) -> str:
    """``640 ms``, ``59.9 s``, ``2 min 05 s``, ``1 h 04 min``: cut, never rounded (59.96 s is not 60.0 s)."""
    if ms is None or isinstance(ms, bool) or not isinstance(ms, int | float) or ms != ms:
        return "-"
    if ms < 1000:
        return f"{int(cut(ms, 0))} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{cut(seconds, 1):.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def api_server_line(stats: Any) -> str | None:
    """``812 requests, 1.9 GB read (310 MB on the wire) in 14.2 s, 4 concurrent``: what a live read
    cost the API server (the run summary's ``api_server``; docs/api-load.md), None without one."""
    if not isinstance(stats, Mapping) or not isinstance(stats.get("requests"), int):
        return None
    wall = stats.get("wall_s")
    line = (
        f"{stats['requests']:,} requests, {_bytes(stats.get('bytes_read'))} read "
        f"({_bytes(stats.get('bytes_wire'))} on the wire)"
        + (f" in {wall:.1f} s" if isinstance(wall, int | float) else "")
        + f", {stats.get('max_concurrency', '?')} concurrent"
    )
    cache = stats.get("watch_cache")
    # What cost the read time or changed how it asked: a refusal, or a whole answer not in time.
    if isinstance(cache, str) and cache.startswith(("rejected", "timed out")):
        line += f"; watch cache {cache}"
    return line


def _bytes(n: Any) -> str:
    value = float(n) if isinstance(n, int | float) else 0.0
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def ratio_text(numerator: int | float, denominator: int | float) -> str:
    """``99.5 %`` for 199 of 200 (cut: never ``100 %`` while something is missing); ``-`` for 0 of 0."""
    if not denominator:
        return "-"
    return percent_text(100 * numerator / denominator)
