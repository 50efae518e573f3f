"""Trends over a cluster's runs: one row per run, per-pillar scores and counts, delta vs the previous run.

The aggregation is a pandas frame over the ``assessment_history`` rows of one cluster and one
scope (storage.history picks them: a ``--check`` run is never a spike in full-run history);
``--plot`` draws it with matplotlib (no display needed). Both are imported only by this command.

The plot gives every run it counts a place of its own on the x axis, oldest to newest, labelled
with when it finished: on a time axis, four runs of one afternoon next to one of last month were
drawn as one dot, so "5 run(s)" showed 2 points. A run without a score (failed, aborted,
incomplete) is marked on the axis, not left out. The y range reaches past 0 and 100 so a pillar
at 100 is drawn inside the frame rather than under its top edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cli.errors import UsageError
from storage.enums import STATUSES
from storage.queries import PILLARS


def _score(entry: Any) -> float | None:
    if isinstance(entry, Mapping):
        entry = entry.get("score")
    return float(entry) if isinstance(entry, int | float) and not isinstance(entry, bool) else None


def _entry(entry: Any) -> Mapping[str, Any]:
    return entry if isinstance(entry, Mapping) else {}


def _pillars(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: set[str] = set()
    for r in rows:
        seen.update((r.get("pillar_counts") or {}).keys())
        seen.update(((r.get("scores") or {}).get("pillars") or {}).keys())
    return sorted(seen, key=lambda p: (PILLARS.index(p) if p in PILLARS else len(PILLARS), p))


def ordered_counts(counts: Mapping[str, Any] | None) -> dict[str, int]:
    """Every status, in the one order (storage keeps whichever its GROUP BY produced)."""
    counts = counts or {}
    return {s: int(counts.get(s, 0) or 0) for s in STATUSES}


def _round(value: Any) -> float | int | None:
    if value is None or value != value:  # None or NaN
        return None
    f = round(float(value), 2)
    return int(f) if f.is_integer() else f


def aggregate(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[dict[str, Any]], Any]:
    """``(pillars, records, frame)``: one record per run, oldest first, with its deltas."""
    import pandas as pd

    pillars = _pillars(rows)
    flat = []
    for r in rows:
        scores = r.get("scores") or {}
        pillar_scores = scores.get("pillars") or {}
        counts = r.get("pillar_counts") or {}
        rec: dict[str, Any] = {
            "run_id": r["run_id"],
            "finished_at": r["finished_at"],
            "overall_score": _score(scores.get("overall")),
            **{s: r.get(f"{s}_count", 0) for s in STATUSES},
            "total": r.get("total", 0),
        }
        for p in pillars:
            rec[f"score:{p}"] = _score(pillar_scores.get(p))
            rec[f"failing:{p}"] = (counts.get(p) or {}).get("failing", 0)
        flat.append(rec)
    frame = pd.DataFrame.from_records(flat)
    if frame.empty:
        return pillars, [], frame
    numeric = [c for c in frame.columns if c not in ("run_id", "finished_at")]
    frame[numeric] = frame[numeric].astype("float64")
    deltas = frame[numeric].diff()

    # Plain dicts once: indexing pandas rows one value at a time costs ~0.5 ms a value.
    values, changes = frame.to_dict("records"), deltas.to_dict("records")
    records = []
    for r, f, d in zip(rows, values, changes, strict=True):
        scores = r.get("scores") or {}
        overall = scores.get("overall") if isinstance(scores.get("overall"), Mapping) else {}
        records.append(
            {
                "run_id": r["run_id"],
                "scope": r.get("scope"),
                "requested_at": r.get("requested_at"),
                "finished_at": r["finished_at"],
                "state": r["state"],
                "trigger": r.get("trigger"),
                "duration_ms": r.get("duration_ms"),
                "total": r.get("total", 0),
                "counts": {s: r.get(f"{s}_count", 0) for s in STATUSES},
                "overall_score": _round(f["overall_score"]),
                "overall_grade": (overall or {}).get("grade"),
                "overall_grade_capped": bool((overall or {}).get("grade_capped")),
                "overall_incomplete": bool((overall or {}).get("incomplete")),
                "overall_coverage": (overall or {}).get("coverage"),
                "pillar_scores": {p: _round(f[f"score:{p}"]) for p in pillars},
                "pillar_coverage": {p: _entry((scores.get("pillars") or {}).get(p)).get("coverage") for p in pillars},
                "pillar_incomplete": [
                    p for p in pillars if _entry((scores.get("pillars") or {}).get(p)).get("incomplete")
                ],
                "pillar_counts": {p: ordered_counts((r.get("pillar_counts") or {}).get(p)) for p in pillars},
                "delta": {
                    "overall_score": _round(d["overall_score"]),
                    "failing": _round(d["failing"]),
                    "passing": _round(d["passing"]),
                    "pillar_scores": {p: _round(d[f"score:{p}"]) for p in pillars},
                    "pillar_failing": {p: _round(d[f"failing:{p}"]) for p in pillars},
                },
            }
        )
    return pillars, records, frame


MAX_TICKS = 12  # run labels on the x axis (every run keeps its point; labels thin out)
NO_SCORE = "no score (failed, aborted or incomplete)"


def check_plot_path(path: str) -> Path:
    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--plot {path!r}: the file name must end in .png, .svg or .pdf")
    return target


def plot(cluster_id: str, pillars: Sequence[str], frame: Any, path: str, scope: str | None = None) -> str:
    """Draw score per pillar per run into ``path`` (PNG, SVG or PDF by extension); returns what was drawn."""
    target = check_plot_path(path)
    if frame.empty:
        raise UsageError("nothing to plot: no finished runs in this range")
    fig, what = figure(cluster_id, pillars, frame, scope)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=120)
    except OSError as exc:
        raise UsageError(f"cannot write the plot to {path}: {exc.strerror or exc}") from None
    return what


def figure(cluster_id: str, pillars: Sequence[str], frame: Any, scope: str | None = None) -> tuple[Any, str]:
    """The plot as a matplotlib Figure (one axes), and what it shows."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.add_subplot()
    n = len(frame)
    x = list(range(n))  # one slot per run, whatever the time between runs
    has_scores = frame[[f"score:{p}" for p in pillars] + ["overall_score"]].notna().any().any()
    # clip_on=False: a marker on 0 or 100 is drawn whole, over the frame, not half under it
    style = {"marker": "o", "markersize": 4, "linewidth": 1.2, "clip_on": False, "zorder": 3}
    if has_scores:
        overall = frame["overall_score"]
        # drawn first and wider: a pillar with the overall's score stays visible on top of it
        overall_style = {**style, "marker": "D", "markersize": 6, "linewidth": 3, "zorder": 2, "alpha": 0.6}
        ax.plot(x, overall, color="black", linestyle="--", label="overall", **overall_style)
        for p in pillars:
            ax.plot(x, frame[f"score:{p}"], label=p, **style)
        missing = [i for i, v in zip(x, overall.isna(), strict=True) if v]
        if missing:
            marks = {"marker": "x", "color": "red", "s": 50, "clip_on": False, "zorder": 5}
            ax.scatter(missing, [0] * len(missing), label=NO_SCORE, **marks)
        ax.set_ylim(-5, 105)  # 0 and 100 inside the frame
        ax.set_yticks(range(0, 101, 20))
        ax.axhline(100, color="grey", linewidth=0.8, linestyle=":", zorder=0)
        ax.set_ylabel("score (0–100, higher is better)")
        what = "score per pillar"
    else:  # scores not recorded for these runs: failing results are the next best trend
        for p in pillars:
            ax.plot(x, frame[f"failing:{p}"], label=p, **style)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("failing results")
        what = "failing results per pillar (no scores recorded)"
    ticks = sorted({round(i * (n - 1) / (min(n, MAX_TICKS) - 1)) for i in range(min(n, MAX_TICKS))}) if n > 1 else [0]
    ax.set_xticks(ticks, [f"#{i + 1}\n{_when(frame['finished_at'].iloc[i])}" for i in ticks], fontsize="small")
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_xlabel(f"run #, oldest to newest: {n} run{'s' if n != 1 else ''} (and when each finished, UTC)")
    # "$…$" in a title is mathtext to matplotlib: a cluster id is text, never markup.
    literal_id = cluster_id.replace("$", r"\$")
    scoped = f" · scope {scope.replace('$', chr(92) + '$')}" if scope else ""
    ax.set_title(f"kwa · {literal_id}{scoped} · {what}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    return fig, what


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d\n%H:%M") if hasattr(value, "strftime") else str(value)
