"""Equal parts of different objects held once: a large cluster's snapshot in half the memory.

A cluster repeats itself. Every replica of a Deployment carries the same containers, probes,
resources, environment, tolerations and owner reference; a ReplicaSet's pod template is its
Deployment's; the same strings ("IfNotPresent", an image, a namespace) occur thousands of times.
Parsed, each copy is its own tree of dicts, lists and strings: a realistic pod of 4 kB of JSON
takes about 20 kB as Python objects. :class:`Sharer` replaces each subtree equal to one already
seen by that one, and each short string by the first equal string, as objects arrive (a JSON
dump's batch, a live list page, a manifest document). On the bench's 100k envelope the reading
process peaks at 1.07 GB instead of 1.78 GB, and the evaluation lane, which copies every page it
reads (docs/scale.md), copies half as much.

Objects are read-only once ingested (checks are pure functions; custom checks are told the same),
so sharing changes nothing a check can see: tested by running every check on shared and unshared
objects and comparing every verdict, and every object's JSON before and after.

The cost is a serialization (orjson) and a hash of each subtree it looks up, and a walk of the
objects in Python: about 30 µs an object. To keep that down it learns, per kind and path
(``Pod`` → ``spec`` → ``containers`` → item → ``resources``), where equal values occur: a path
whose first :data:`TRIALS` values rarely matched (uids, names, a pod's ``status.conditions`` with
their own timestamps) is no longer looked up, a subtree in which nothing was shared is no longer
walked, and after :data:`TRIALS` walks a mapping visits only the keys worth it. Inputs of fewer
than :data:`SHARE_FROM` objects are not shared at all: their memory is small and their time is
what counts (``KWA_SHARE_FROM`` sets another threshold: 0 shares always, ``off`` never).

Two subtrees are shared only when their JSON hashes alike **and** they are equal as Python values:
equal JSON alone is not enough (NaN, the infinities and ``None`` all serialize as ``null``), and a
hash is not the text. orjson is told not to serialize datetimes (PyYAML's timestamps),
dataclasses or subclasses of the JSON types, so a subtree holding one is left as it is: it would
otherwise look like its string. ``1``, ``1.0`` and ``true`` serialize differently. Secrets are left
alone (their values are dropped after ingest, not before).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import repeat
from typing import Any

import orjson
from orjson import dumps

from checks.limits import SHARE_ENV, LimitError, share_threshold

# Objects read before sharing starts; reaching it shares those too. Below it a run is small enough
# that sharing's CPU (about 30 µs an object) is worth more than its memory.
SHARE_FROM = 20_000
# Values tried at a path before its hit rate decides; below 1 in HIT_RATIO it stops trying.
TRIALS = 32
HIT_RATIO = 8
# Deeper than this, subtrees are left as they are (pod specs' useful parts are at depth 3-5).
MAX_DEPTH = 8
# Longer strings (a ConfigMap's files) are rarely equal and cost their whole length to hash.
MAX_STRING = 256
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def share_from() -> int:
    """:data:`SHARE_FROM`, or ``KWA_SHARE_FROM``: a whole number of objects (0: always), or ``off``.

    Anything else is refused where the limits are read (checks.limits.configured: the command
    stops, naming the variable); here, where it cannot be, it means the default.
    """
    try:
        value = share_threshold(os.environ.get(SHARE_ENV))
    except LimitError:
        value = None
    return SHARE_FROM if value is None else value


class _Path:
    """What sharing has learnt at one path of one kind."""

    __slots__ = ("found", "hits", "kids", "plan", "tried", "walks")

    def __init__(self) -> None:
        self.tried = 0  # values here looked up
        self.hits = 0  # of them, found equal to one seen before
        self.walks = 0  # subtrees here walked into
        self.found = 0  # subtrees shared inside them (strings do not count: walking for them costs more)
        self.kids: dict[Any, _Path] = {}
        # Once walked TRIALS times: the children worth visiting (a lookup or a walk pays there);
        # keys first seen after that are left as they are.
        self.plan: list[tuple[Any, _Path]] | None = None


class Sharer:
    """Share equal subtrees and strings among the objects given to it (see the module's doc).

    One per read (a manifest load, a live listing): what it holds is freed with it. Safe to call
    from several threads (the live listing's): its tables are only read and added to, a race can
    only leave two equal subtrees unshared, and the objects held back below the threshold are
    shared by one thread.
    """

    def __init__(self, start: int | None = None) -> None:
        self._start = share_from() if start is None else start
        self._seen = 0
        self._pending: list[dict[str, Any]] | None = [] if self._start > 0 else None
        self._trees: dict[int, Any] = {}
        self._strings: dict[str, str] = {}
        self._roots: dict[Any, _Path] = {}
        self._lock = threading.Lock()

    def __call__(self, obj: Any) -> Any:
        """``obj`` (a mapping), its subtrees replaced in place by equal ones seen before; returned."""
        if type(obj) is not dict or obj.get("kind") == "Secret":  # its values go after ingest, not before
            return obj
        if self._pending is not None:
            with self._lock:  # one thread shares what was held back, and only once
                pending = self._pending
                if pending is not None:
                    self._seen += 1
                    if self._seen < self._start:
                        pending.append(obj)
                        return obj
                    self._pending = None
                    for earlier in pending:
                        self._share_object(earlier)
        self._share_object(obj)
        return obj

    @property
    def sharing(self) -> bool:
        return self._pending is None

    def _share_object(self, obj: dict[str, Any]) -> None:
        kind = obj.get("kind")
        if type(kind) is not str:  # the boundary names it; nothing to learn a path by
            return
        root = self._roots.get(kind)
        if root is None:
            root = self._roots[kind] = _Path()
        if root.walks < TRIALS or root.found * HIT_RATIO >= root.walks:  # else its objects share nothing
            self._share(obj, root, 0)

    def _share(self, node: Any, path: _Path, depth: int) -> int:
        """Share ``node``'s children in place; how many subtrees under it were found shared.

        Written out in one function: it runs for every value of every object, and a call per
        value would cost more than the lookups.
        """
        walks = path.walks = path.walks + 1
        plan = path.plan
        if plan is None and walks > TRIALS:
            plan = path.plan = [
                (step, at)
                for step, at in path.kids.items()
                if at.tried < TRIALS or at.hits * HIT_RATIO >= at.tried or at.found * HIT_RATIO >= at.walks
            ]
        kids = path.kids
        # Assigning to an existing key while iterating is allowed: a dict's size never changes.
        # zip reuses its tuple when the loop unpacks it: no allocation per value.
        steps: Iterable[tuple[Any, Any, _Path | None]]
        if type(node) is dict:
            if plan is None:
                steps = zip(node.keys(), node.values(), map(kids.get, node.keys()), strict=True)
            else:
                steps = [(key, node[key], at) for key, at in plan if key in node]
        elif plan is None or plan:
            steps = zip(range(len(node)), node, repeat(kids.get(0)), strict=False)  # every item: one path
        else:
            return 0
        strings = self._strings
        trees = self._trees
        found = 0
        for key, value, at in steps:
            kind = type(value)
            if kind is not str and kind is not dict and kind is not list:
                continue
            if at is None:
                at = kids.get(key if type(node) is dict else 0)
                if at is None:
                    try:
                        at = kids[key if type(node) is dict else 0] = _Path()
                    except TypeError:  # a key that is not hashable: the boundary names it
                        continue
            lookup = at.tried < TRIALS or at.hits * HIT_RATIO >= at.tried
            if kind is str:
                # uids, names, addresses and times are unique: a path whose strings rarely
                # repeat stops filling the table with them; long texts are not worth hashing
                if lookup and len(value) <= MAX_STRING:
                    at.tried += 1
                    same = strings.get(value)
                    if same is None:
                        strings[value] = value
                    else:
                        at.hits += 1
                        node[key] = same
                continue
            if lookup and depth:
                at.tried += 1
                try:
                    text = dumps(value, option=_OPTIONS)
                except (TypeError, orjson.JSONEncodeError):  # not plain JSON values: left alone
                    text = None
                if text is not None:
                    fingerprint = hash(text)
                    same = trees.get(fingerprint)
                    if same is None:
                        trees[fingerprint] = value
                    # Equal hashes are not equal texts, and equal JSON is not always equal values
                    # (NaN, the infinities and None are all null): the values must be equal.
                    elif same == value:
                        at.hits += 1
                        found += 1
                        node[key] = same
                        continue
            if value and depth < MAX_DEPTH and (at.walks < TRIALS or at.found * HIT_RATIO >= at.walks):
                found += self._share(value, at, depth + 1)
        path.found += found
        return found


_CURRENT: ContextVar[Sharer | None] = ContextVar("kwa_sharer", default=None)


@contextmanager
def sharing(start: int | None = None) -> Iterator[Sharer]:
    """Share among the objects :func:`share` is given until the block ends (one manifest load)."""
    sharer = Sharer(share_from() if start is None else start)
    token = _CURRENT.set(sharer)
    try:
        yield sharer
    finally:
        _CURRENT.reset(token)


def share(obj: Any) -> Any:
    """``obj`` shared with the current :func:`sharing` block's objects; as it is outside one."""
    sharer = _CURRENT.get()
    return obj if sharer is None else sharer(obj)
