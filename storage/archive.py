"""Archiving older runs' results, and putting them back when a query needs them.

Why: one result row costs ~670 bytes with its indexes; a year of daily full runs of a
10,000-object cluster plus hourly security runs is ~150 GB of rows that are nearly all the same
as the day before (docs/storage.md). So only the newest :func:`hot_runs` runs of each (cluster,
scope) keep their rows in ``assessments`` (every query reads them as before); older finished runs
are *archived*: their distinct results go once per cluster into ``result_contents`` and the run
itself becomes one compressed row of ``archived_runs`` (storage.archive_codec), 2–3 bytes a result.
``assessment_history`` (counts, scores, coverage) is never touched: ``history`` reads no results.

A query about an archived run calls :func:`ensure_hot` first (storage.run_lookup and the other
per-run readers do): the rows go back into ``assessments`` — the same ids, the same values — and
the run stays restored until a later compaction finds it untouched for :data:`GRACE`; its archive
row is kept, so archiving it again only deletes the rows.

Concurrency: compaction archives one run per write transaction (``BEGIN IMMEDIATE`` on SQLite;
on PostgreSQL it locks the run's row ``FOR UPDATE`` first, and :func:`ensure_hot` takes
``FOR KEY SHARE`` on it, so a reader's transaction and a compaction of the same run wait for each
other instead of the reader seeing the rows vanish). On SQLite a reader's snapshot already keeps
the rows it started with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from storage.archive_codec import CONTENT, IdScheme, content_ids, content_of, decode, digest, encode
from storage.archive_sql import CHUNK, content_ids_of, insert_contents, insert_rows, run_rows
from storage.db import Database
from storage.enums import TERMINAL
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.models import contents_table as C
from storage.models import runs_table as R
from storage.result_rows import COLUMNS, result_id_prefix
from storage.sqlite_setup import _BEGIN_OPTION

__all__ = [
    "DEFAULT_HOT_RUNS",
    "ENV_HOT_RUNS",
    "GRACE",
    "MAX_RESTORE",
    "archive_rows",
    "archive_run",
    "archived_only",
    "archived_run_of",
    "compact",
    "ensure_hot",
    "hot_runs",
    "restore_all_in",
]

ENV_HOT_RUNS = "KWA_HOT_RUNS"
DEFAULT_HOT_RUNS = 14
# A run restored for a query stays restored this long (a user paging through it, diffing it again).
GRACE = timedelta(hours=1)
MAX_RESTORE = 14  # archived runs one query may restore (a --since range)
_TERMINAL = [s.value for s in TERMINAL]


def hot_runs(value: str | int | None = None) -> int:
    """Runs per (cluster, scope) whose results stay in ``assessments``: ``KWA_HOT_RUNS`` (default
    14); 0 (or ``off``) archives nothing."""
    raw = os.environ.get(ENV_HOT_RUNS, "") if value is None else value
    text = str(raw).strip().lower()
    if text in ("off", "none", "never"):
        return 0
    try:
        n = int(text) if text else DEFAULT_HOT_RUNS
    except ValueError:
        return DEFAULT_HOT_RUNS
    return max(n, 0)


def _now() -> datetime:
    return datetime.now(UTC)


# -- reading: put an archived run back ---------------------------------------------------------------


def ensure_hot(conn: Connection, run_id: str) -> bool:
    """Make sure ``run_id``'s results are in ``assessments`` for the rest of ``conn``'s transaction;
    True when they had to be restored. Cheap when they are there (one primary-key lookup)."""
    pg = conn.dialect.name == "postgresql"
    if pg:  # no compaction of this run until the reader's transaction ends
        conn.execute(select(R.c.run_id).where(R.c.run_id == run_id).with_for_update(read=True, key_share=True))
    restored = conn.execute(select(AR.c.restored_at).where(AR.c.run_id == run_id)).first()
    if restored is None or restored[0] is not None:
        return False
    if pg:
        with conn.begin_nested():
            _restore(conn, run_id)
        return True
    if conn.get_execution_options().get(_BEGIN_OPTION) != "BEGIN":  # a write transaction already
        _restore(conn, run_id)
        return True
    # A SQLite reader: its snapshot cannot see rows written after it began, so end it, restore in
    # a write transaction of its own, and begin a new read on the same connection.
    # Foreign keys off meanwhile, as storage.results does for its bulk inserts: the run's row is
    # read under the same write lock, so the per-row probe would prove nothing.
    raw = conn.connection.driver_connection
    for _ in range(_SQLITE_RESTORE_TRIES):
        raw.execute("COMMIT")
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                _restore(conn, run_id)
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
        finally:
            raw.execute("PRAGMA foreign_keys = ON")
            raw.execute("BEGIN")
        # The new read's snapshot starts with its first statement, and a compaction waiting for
        # the write lock may archive the run again before it: take the snapshot now, and restore
        # once more if the rows are gone from it, instead of leaving the caller's query none.
        again = raw.execute("SELECT restored_at FROM archived_runs WHERE run_id = ?", (run_id,)).fetchone()
        if again is None or again[0] is not None:
            break
    return True


# A compaction archiving the same run again each time the reader restores it: give up after this
# many rounds (the caller then reads a run with no rows rather than waiting for ever).
_SQLITE_RESTORE_TRIES = 5


def archived_only(conn: Connection, runs: Select[Any]) -> list[str]:
    """Which of the runs ``runs`` (a query of run ids) have their results only in the archive."""
    query = select(AR.c.run_id).where(AR.c.restored_at.is_(None), AR.c.run_id.in_(runs.scalar_subquery()))
    return [r[0] for r in conn.execute(query.order_by(AR.c.run_id))]


def _restore(conn: Connection, run_id: str) -> int:
    """Put an archived run's rows back (in the caller's write transaction); the rows written."""
    # FOR UPDATE (PostgreSQL): two readers restoring one run at once take turns.
    row = conn.execute(select(AR.c.data, AR.c.restored_at).where(AR.c.run_id == run_id).with_for_update()).first()
    if row is None or row[1] is not None:  # restored meanwhile by someone else
        return 0
    requested_at = conn.execute(select(R.c.requested_at).where(R.c.run_id == run_id)).scalar_one()
    data = row[0]
    # Contents as the driver gives them, ``details`` as JSON text: written back as they are,
    # without decoding and encoding 67,000 JSON values.
    wanted = sorted(set(content_ids(data)))
    contents: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(wanted), CHUNK):
        contents.update((r[0], tuple(r[1:])) for r in conn.execute(_CONTENTS, {"ids": wanted[i : i + CHUNK]}))
    dialect = conn.dialect
    from storage.models import UTCDateTime

    bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
    stamps: dict[datetime, Any] = {}
    check_of = {cid: c[_CHECK_AT] for cid, c in contents.items()}
    values = []
    for result_id, cid, assessed_at, duration_ms in decode(IdScheme(run_id, requested_at), data, check_of):
        stamp = stamps.get(assessed_at)
        if stamp is None:
            stamp = stamps[assessed_at] = bind(assessed_at)
        values.append((result_id, run_id, *contents[cid], stamp, duration_ms))
    insert_rows(conn, values)
    conn.execute(update(AR).where(AR.c.run_id == run_id).values(restored_at=_now()))
    return len(values)


# The content columns in assessments' order (CONTENT is COLUMNS[2:-2]), details as JSON text.
assert COLUMNS[2:-2] == CONTENT
_CONTENTS = text(
    f"SELECT id, {', '.join(CONTENT[:-1])}, CAST(details AS TEXT) FROM result_contents WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_CHECK_AT = CONTENT.index("check_id")


_RESULT_ID = re.compile(r"^asm_(\d{8})_(\d{6})_[a-z0-9]+_([0-9a-f]{6})[0-9a-f]{6,}$")


def archived_run_of(conn: Connection, result_id: str) -> str | None:
    """The archived (not restored) run a result id belongs to, if any: the run id and time are in
    the result id (storage.result_rows), so this is one or two primary-key-sized look-ups."""
    m = _RESULT_ID.match(result_id)
    if m is None:
        return None
    day, time, runhex = m.groups()
    cold = select(AR.c.run_id).where(AR.c.restored_at.is_(None))
    found = conn.execute(cold.where(AR.c.run_id == f"run_{day}_{time}_{runhex}")).scalar()
    if found is not None:
        return str(found)
    # A run id of another shape: its results carry its requested_at second and a hash of its id.
    at = datetime.strptime(day + time, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    query = cold.join(R, R.c.run_id == AR.c.run_id).add_columns(R.c.requested_at)
    query = query.where(R.c.requested_at >= at, R.c.requested_at < at + timedelta(seconds=1))
    for run_id, requested_at in conn.execute(query):
        if result_id_prefix(run_id, requested_at)[1] == runhex:
            return str(run_id)
    return None


def restore_all_in(conn: Connection) -> int:
    """Every archived run back into ``assessments`` (the downgrade of migration 0006)."""
    ids = [r[0] for r in conn.execute(select(AR.c.run_id).where(AR.c.restored_at.is_(None)))]
    return sum(_restore(conn, run_id) for run_id in ids)


# -- writing: archive a run ------------------------------------------------------------------------


def archive_rows(
    conn: Connection,
    run: Mapping[str, Any],
    rows: Sequence[Sequence[Any]],
    cache: dict[str, int] | None = None,
) -> int:
    """Archive ``rows`` (``assessments`` rows of ``run`` in :data:`COLUMNS` order, in id order) as
    ``run``'s archive row; returns how many. ``cache`` (digest → content id, of the run's cluster)
    saves the look-ups when one process archives many runs; it is filled as contents are found."""
    cluster = run["cluster_id"]
    contents = [content_of(r) for r in rows]
    keys = [digest(c) for c in contents]
    known = cache if cache is not None else {}
    missing = sorted({k for k in keys if k not in known})
    known.update(content_ids_of(conn, cluster, missing))
    new: dict[str, tuple[Any, ...]] = {}
    for key, content in zip(keys, contents, strict=True):
        if key not in known:
            new.setdefault(key, content)
    if new:
        insert_contents(conn, cluster, new.items())
        known.update(content_ids_of(conn, cluster, list(new)))
    data, count = encode(IdScheme(run["run_id"], run["requested_at"]), rows, [known[k] for k in keys])
    conn.execute(
        insert(AR).values(
            run_id=run["run_id"], cluster_id=cluster, results=count, data=data, archived_at=_now(), restored_at=None
        )
    )
    return count


def archive_run(db: Database, run_id: str, cache: dict[str, int] | None = None) -> int:
    """Move a finished run's results out of ``assessments`` into the archive; the rows moved
    (0 when it was archived already, or is not finished)."""
    with db.begin() as conn:
        query = select(R.c.run_id, R.c.cluster_id, R.c.requested_at, R.c.state).where(R.c.run_id == run_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        run = conn.execute(query).first()
        if run is None or run.state not in _TERMINAL:
            return 0
        archived = conn.execute(select(AR.c.restored_at).where(AR.c.run_id == run_id)).first()
        if archived is not None:
            if archived[0] is None:
                return 0
            # Restored for a query earlier: the archive row still holds every result.
            moved = conn.execute(delete(A).where(A.c.run_id == run_id)).rowcount
            conn.execute(update(AR).where(AR.c.run_id == run_id).values(restored_at=None))
            return int(moved or 0)
        count = archive_rows(conn, run._mapping, run_rows(conn, run_id), cache)
        conn.execute(delete(A).where(A.c.run_id == run_id))
        return count


def compact(
    db: Database,
    keep: int | None = None,
    cluster_id: str | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[str]:
    """Archive the finished runs beyond the newest ``keep`` (default :func:`hot_runs`) of each
    (cluster, scope), except runs restored less than :data:`GRACE` ago; at most ``limit`` runs,
    oldest first. Returns the ids archived."""
    from storage.scopes import Scope

    keep = hot_runs() if keep is None else keep
    if keep <= 0:
        return []
    cutoff = (now or _now()) - GRACE
    query = (
        select(R.c.run_id, R.c.cluster_id, R.c.scope, R.c.pillars, R.c.check_ids, AR.c.run_id.label("archived"))
        .add_columns(AR.c.restored_at)
        .select_from(R.outerjoin(AR, AR.c.run_id == R.c.run_id))
        .where(R.c.state.in_(_TERMINAL))
        .order_by(R.c.requested_at.desc(), R.c.run_id.desc())
    )
    if cluster_id is not None:
        query = query.where(R.c.cluster_id == cluster_id)
    seen: dict[tuple[str, str], int] = {}
    due: list[str] = []
    with db.read() as conn:
        for r in conn.execute(query):
            group = (r.cluster_id, Scope.of_run(r._mapping).label)
            seen[group] = seen.get(group, 0) + 1
            if seen[group] <= keep:
                continue
            if r.archived is None or (r.restored_at is not None and r.restored_at < cutoff):
                due.append(r.run_id)
    due.reverse()  # oldest first: a run cut short leaves the newest ones hot
    if limit is not None:
        due = due[:limit]
    caches: dict[str, dict[str, int]] = {}
    done = []
    for run_id in due:
        run = _cluster_of(db, run_id)
        if run is None:
            continue
        archive_run(db, run_id, caches.setdefault(run, {}))
        done.append(run_id)
    return done


def _cluster_of(db: Database, run_id: str) -> str | None:
    with db.read() as conn:
        return conn.execute(select(R.c.cluster_id).where(R.c.run_id == run_id)).scalar()


def prune_contents(conn: Connection) -> int:
    """Remove the contents no archived run refers to any more (after runs were deleted).

    Reads every archived run's content ids (a few ms a run: a year of hourly runs takes tens of
    seconds), which is why only pruning does it, not every compaction."""
    used: set[int] = set()
    for (data,) in conn.execute(select(AR.c.data)):
        used.update(content_ids(data))
    unused = [cid for (cid,) in conn.execute(select(C.c.id)) if cid not in used]
    for i in range(0, len(unused), CHUNK):
        conn.execute(delete(C).where(C.c.id.in_(unused[i : i + CHUNK])))
    return len(unused)
