"""What ingest keeps of an object: every field a check or an exemption reads, not what the API server adds.

A real API server returns each object with ``metadata.managedFields`` (server-side apply's record of
which manager set which field: a ``fieldsV1`` tree mirroring the spec and status) and, for objects
applied with ``kubectl apply``, the whole applied manifest again in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation. Together they about double an
object, and no check reads them: kept, they cost half the memory of a large cluster's snapshot and
a share of every walk over it. :func:`slim` drops them as each object arrives (a live list page, a
manifest document, an item of a ``kind: List`` dump), before the input boundary screens it.

What the checks need of them, derived from the checks (``grep`` for ``managedFields`` and
``annotations`` under ``checks/``):

* ``managedFields``: only COST-006 reads it, for the newest ``time`` (when the object last changed).
  Each entry is cut to ``manager``, ``operation``, ``subresource`` and ``time``; ``fieldsV1`` goes.
* annotations: checks and exemptions read named keys (``kwa.io/…`` exemptions, topology hints,
  load-balancer source ranges, mirror pods, default storage classes, ``*secret*`` references, the
  sleep schedules of SUS checks) and no value among them is long. :data:`DROPPED_ANNOTATIONS` (copies
  of the whole manifest written by deployment tools) go always; any other value longer than
  :data:`MAX_ANNOTATION_CHARS` goes too unless it is kwa's own (:data:`KEPT_ANNOTATION_PREFIXES`; none of
  the keys checks read holds a value that long). Pod template annotations are the workload's own and
  are kept.
* status: a Node's ``status.images`` (no check reads which images a node holds; :data:`DROPPED_STATUS`).

The object keeps its ``metadata.annotations`` mapping (minus the dropped keys) and everything else
untouched, so a check reads the same values it would without slimming: the equivalence is tested on
the corpus and on generated realistic objects (``tests/sources/test_slim.py``).
"""

from __future__ import annotations

from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Whole-manifest copies that deployment tools keep on every object they apply.
DROPPED_ANNOTATIONS = frozenset(
    {
        LAST_APPLIED,
        "kapp.k14s.io/original",  # kapp's last-applied
        "kapp.k14s.io/original-diff",
    }
)
MAX_ANNOTATION_CHARS = 4096
# Keys whose long values are still kept: kwa's own annotations (exemptions quote reasons).
KEPT_ANNOTATION_PREFIXES = ("kwa.io/",)
_MANAGED_KEEP = ("manager", "operation", "subresource", "time")
# Status fields no check reads, by kind: a node lists every image it holds (50 is common, each with
# its digests and size), about a third of a real Node object.
DROPPED_STATUS: dict[str, tuple[str, ...]] = {"Node": ("images",)}


def slim(obj: Any) -> Any:
    """``obj`` with the fields no check reads removed, changed in place and returned.

    Anything that is not shaped as expected is left exactly as it is: the input boundary
    (checks.objects.screen) must still see a malformed field to name it.
    """
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    managed = meta.get("managedFields")
    if isinstance(managed, list) and managed:
        cut = _cut_managed(managed)
        if cut is not None:
            meta["managedFields"] = cut
    dropped = DROPPED_STATUS.get(obj.get("kind"))  # type: ignore[arg-type]
    if dropped:
        status = obj.get("status")
        if isinstance(status, dict):
            for key in dropped:
                status.pop(key, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and annotations:
        drop = [k for k, v in annotations.items() if _droppable(k, v)]
        if drop:
            for key in drop:
                del annotations[key]
    return obj


def _cut_managed(entries: list[Any]) -> list[dict[str, Any]] | None:
    """Each entry with only the small fields, or None when one is not a mapping (left for screening)."""
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        out.append({k: entry[k] for k in _MANAGED_KEEP if k in entry})
    return out


def _droppable(key: Any, value: Any) -> bool:
    if key in DROPPED_ANNOTATIONS:
        return True
    if not isinstance(value, str) or len(value) <= MAX_ANNOTATION_CHARS or not isinstance(key, str):
        return False
    return not key.startswith(KEPT_ANNOTATION_PREFIXES)
