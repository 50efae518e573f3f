"""CronJobs and Jobs: schedules, deadlines, history and live run state (REL-018)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from checks.context import CheckContext
from checks.model import Result, Status
from checks.registry import check
from checks.reliability.common import JOB_KINDS, _parse_time, _report
from checks.snapshot import K8sObject

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


_NAMES = {
    3: {
        m: i + 1
        for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
    },
    4: {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}


_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _cron_field(text: str, index: int) -> set[int]:
    lo, hi = _BOUNDS[index]
    names = _NAMES.get(index, {})
    out: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body in ("*", "?"):
            start, end = lo, hi
        else:
            a, _, b = body.partition("-")
            start = names[a] if a in names else int(a)
            end = (names[b] if b in names else int(b)) if b else (hi if step_text else start)
        if step <= 0 or start < lo or end > hi:
            raise ValueError(part)
        out.update(range(start, end + 1, step))
    if index == 4 and 7 in out:
        out = (out - {7}) | {0}
    return out


def _cron_next(schedule: str, after: datetime, tz: str | None) -> datetime | None:
    """The first fire time strictly after ``after`` (Vixie-cron semantics), or None if it never fires."""
    text = schedule.strip()
    match = re.match(r"^(?:CRON_)?TZ=(\S+)\s+(.*)$", text)
    if match:
        tz, text = match.group(1), match.group(2)
    text = _MACROS.get(text.lower(), text)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(schedule)
    minutes, hours, doms, months, dows = (_cron_field(f, i) for i, f in enumerate(fields))
    dom_star, dow_star = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    zone = ZoneInfo(tz) if tz else UTC
    t = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(100_000):
        if t.month not in months:
            t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        dom_ok, dow_ok = t.day in doms, (t.weekday() + 1) % 7 in dows
        day_ok = (dom_ok and dow_ok) if (dom_star or dow_star) else (dom_ok or dow_ok)
        if not day_ok:
            t = t.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if t.hour not in hours:
            t = t.replace(minute=0) + timedelta(hours=1)
            continue
        if t.minute not in minutes:
            t += timedelta(minutes=1)
            continue
        return t.replace(tzinfo=zone).astimezone(UTC)
    return None


@check("REL-018")
def cronjob_robustness(ctx: CheckContext) -> Iterator[Result]:
    """CronJob deadline and concurrency, Job restart policy, and (live) suspended or stale CronJobs.

    Rule (docs/catalogue.md#rel-018): warning without startingDeadlineSeconds; warning for concurrencyPolicy
    Allow — including unset, which the API server defaults to Allow, so manifests and live clusters
    agree; failing when the pod restartPolicy is not OnFailure/Never (unset defaults to Always).
    Live: warning when suspended, or when at least two scheduled runs were missed since
    ``status.lastScheduleTime`` (creation time if it never ran) — "older than 2 intervals".
    """
    now = ctx.snapshot.now()
    for w in ctx.snapshot.workloads():
        if w.kind not in JOB_KINDS:
            continue
        issues: list[tuple[Status, str]] = []
        policy = w.pod_spec.get("restartPolicy")
        if policy not in ("OnFailure", "Never"):
            issues.append((Status.FAILING, f"pod restartPolicy is {policy or 'unset (Always)'}, not OnFailure/Never"))
        if w.kind == "CronJob":
            spec = w.obj.spec
            if spec.get("startingDeadlineSeconds") is None:
                issues.append((Status.WARNING, "no startingDeadlineSeconds"))
            if (spec.get("concurrencyPolicy") or "Allow") == "Allow":
                issues.append((Status.WARNING, "concurrencyPolicy Allow: runs may overlap"))
            if ctx.live:
                issues += _cron_live_issues(w.obj, now)
        yield _report(ctx, w, issues)


def _cron_live_issues(cj: K8sObject, now: datetime) -> list[tuple[Status, str]]:
    if cj.spec.get("suspend"):
        return [(Status.WARNING, "CronJob is suspended")]
    last = _parse_time(cj.status.get("lastScheduleTime")) or _parse_time(cj.meta.get("creationTimestamp"))
    if last is None or not cj.spec.get("schedule"):
        return []
    try:
        first = _cron_next(str(cj.spec["schedule"]), last, cj.spec.get("timeZone"))
        second = _cron_next(str(cj.spec["schedule"]), first, cj.spec.get("timeZone")) if first else None
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return [(Status.WARNING, f"cannot parse schedule {cj.spec['schedule']!r}")]
    if second is not None and second <= now:
        return [(Status.WARNING, f"last scheduled {last.isoformat()}: at least two runs were missed")]
    return []
