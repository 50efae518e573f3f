"""Trends over a cluster's runs: one row per run, per-pillar scores and counts, delta vs the previous run.

The aggregation is a pandas frame over the ``assessment_history`` rows (a handful of columns per
run, so even years of daily runs stay small); ``--plot`` draws it with matplotlib (Agg backend,
no display needed). Both are imported only by this command.
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


def plot(cluster_id: str, pillars: Sequence[str], frame: Any, path: str) -> str:
    """Draw score per pillar over time into ``path`` (PNG, SVG or PDF by extension); returns what was drawn."""
    from matplotlib.figure import Figure

    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--plot {path!r}: the file name must end in .png, .svg or .pdf")
    if frame.empty:
        raise UsageError("nothing to plot: no finished runs in this range")
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.add_subplot()
    has_scores = frame[[f"score:{p}" for p in pillars] + ["overall_score"]].notna().any().any()
    x = frame["finished_at"]
    if has_scores:
        for p in pillars:
            ax.plot(x, frame[f"score:{p}"], marker="o", markersize=3, label=p)
        ax.plot(x, frame["overall_score"], color="black", linestyle="--", linewidth=2, label="overall")
        ax.set_ylabel("score (0–100)")
        ax.set_ylim(0, 100)
        what = "score per pillar"
    else:  # scores not recorded for these runs: failing results are the next best trend
        for p in pillars:
            ax.plot(x, frame[f"failing:{p}"], marker="o", markersize=3, label=p)
        ax.set_ylabel("failing results")
        what = "failing results per pillar (no scores recorded)"
    # "$…$" in a title is mathtext to matplotlib: a cluster id is text, never markup.
    literal_id = cluster_id.replace("$", r"\$")
    ax.set_title(f"kwa · {literal_id} · {what}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    fig.autofmt_xdate()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=120)
    except OSError as exc:
        raise UsageError(f"cannot write the plot to {path}: {exc.strerror or exc}") from None
    return what
