"""A 10,000-object cluster that changes a little every hour, as result rows (for bench.storage_growth).

The cluster has the catalogue's shape (100 checks in six pillars, ``bench.query_bench.PILLARS``);
each check judges its own sample of the objects, ~6.7 results per object, statuses drawn to match
what the lead measured on a realistic 10k cluster (passing 71 %, warning 17 %, failing 8 %,
skipped 4 %). Messages name the object and, for image checks, the image tag; failing and warning
rows carry ``details``. Every simulated hour (assumptions, per day, spread over the hours):

* ``ROLLOUTS`` of the workloads roll out: a new image tag (their image checks' messages change)
  and new names for their pods;
* ``FLIPS`` of the results change status (a finding fixed, a new one);
* ``REPLACED`` of the objects are deleted and replaced by new ones (new names).

Rows are kept per (check, object) and rebuilt only when they change, so producing a run costs a
list concatenation, not 67,000 formatted strings.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import orjson

from bench.query_bench import PILLARS, SEVERITIES

ROLLOUTS = 0.10  # of the workloads, per day
FLIPS = 0.003  # of the results, per day
REPLACED = 0.002  # of the objects, per day
RESULTS_PER_OBJECT = 6.7
STATUS_WEIGHTS = (("passing", 71), ("warning", 17), ("failing", 8), ("skipped", 4))
KINDS = (
    ("Deployment", 22),
    ("StatefulSet", 3),
    ("DaemonSet", 1),
    ("Pod", 8),
    ("Service", 18),
    ("ConfigMap", 18),
    ("ServiceAccount", 10),
    ("Ingress", 5),
    ("RoleBinding", 8),
    ("PersistentVolumeClaim", 5),
    ("Namespace", 2),
)
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Pod"})
_IMAGE_CHECK_EVERY = 9  # every ninth check talks about images
_dumps = orjson.dumps


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


class Cluster:
    def __init__(self, objects: int, seed: int = 13) -> None:
        self.rng = rng = random.Random(seed)
        self.n = objects
        self.checks: list[dict[str, Any]] = []
        for pillar, prefix, count in PILLARS:
            for i in range(1, count + 1):
                cid = f"{prefix}-{i:03d}"
                self.checks.append(
                    {
                        "id": cid,
                        "pillar": pillar,
                        "name": f"Workloads follow {pillar} rule {i}",
                        "severity": SEVERITIES[(i * 7 + len(prefix)) % len(SEVERITIES)],
                        "remediation": (
                            f"Set the field {cid} names in each affected manifest; see the {pillar} guide."
                        ),
                    }
                )
        self.namespaces = [f"team-{i:03d}" for i in range(max(8, objects // 60))]
        self.objects: list[list[Any]] = [self._new_object(i) for i in range(objects)]
        per_check = int(objects * RESULTS_PER_OBJECT / len(self.checks))
        self.applies: list[list[int]] = []
        self.applies_set: list[frozenset[int]] = []
        self.status: list[dict[int, str]] = []
        for c in self.checks:
            k = int(per_check * (1.08 if c["pillar"] == "security" else 0.96))
            oids = sorted(rng.sample(range(objects), min(objects, k)))
            self.applies.append(oids)
            self.applies_set.append(frozenset(oids))
            self.status.append({o: _weighted(rng, STATUS_WEIGHTS) for o in oids})
        self.rows: list[dict[int, tuple[Any, ...]]] = [{} for _ in self.checks]
        # (check, object) → content id in the database, while its row is unchanged (bench.storage_growth)
        self.cids: list[dict[int, int]] = [{} for _ in self.checks]
        self.hour = 0

    def _new_object(self, i: int) -> list[Any]:
        kind = _weighted(self.rng, KINDS)
        ns = self.rng.choice(self.namespaces) if kind != "Namespace" else None
        base = f"svc-{i:05d}-{self.rng.randrange(36**3):03x}"
        # [kind, namespace, base name, generation (rollouts), container]
        return [kind, ns, base, 0, "app" if kind in WORKLOADS else None]

    def _name(self, obj: list[Any]) -> str:
        if obj[0] == "Pod":  # a pod's name changes with every rollout
            return f"{obj[2]}-{zlib.crc32(f'{obj[2]}/{obj[3]}'.encode()):08x}"
        return str(obj[2])

    def row(self, ci: int, oi: int) -> tuple[Any, ...]:
        """The :data:`storage.results.ROW_FIELDS` tuple of one result (cached until it changes)."""
        cached = self.rows[ci].get(oi)
        if cached is not None:
            return cached
        check, obj, status = self.checks[ci], self.objects[oi], self.status[ci][oi]
        name = self._name(obj)
        where = f"{obj[0]} {obj[1] + '/' if obj[1] else ''}{name}"
        if ci % _IMAGE_CHECK_EVERY == 0 and obj[0] in WORKLOADS:
            what = f"container {obj[4]} image registry.example.com/{obj[2][:9]}:1.{obj[3]}.0"
        else:
            what = f"{check['id']} {status} for the {check['pillar']} rule"
        message = f"{where}: {what} ({'set' if status == 'passing' else 'not set'} as the check expects)"
        details = None
        if status in ("failing", "warning"):
            details = _dumps({"field": f"spec.template.spec.containers[0].{check['pillar']}", "found": None}).decode()
        reason = "requires the live cluster" if status == "skipped" else None
        row = (status, obj[0], obj[1], name, obj[4], message, None, reason, "live", *(None,) * 6, details)
        self.rows[ci][oi] = row
        return row

    def _touch(self, oi: int) -> None:
        for rows, cids in zip(self.rows, self.cids, strict=True):
            rows.pop(oi, None)
            cids.pop(oi, None)

    def step_hour(self) -> None:
        """One hour of churn (see the module docstring)."""
        rng = self.rng
        self.hour += 1
        workloads = self.n * ROLLOUTS / 24
        for _ in range(int(workloads) + (rng.random() < workloads % 1)):
            oi = rng.randrange(self.n)
            if self.objects[oi][0] in WORKLOADS:
                self.objects[oi][3] += 1
                self._touch(oi)
        replaced = self.n * REPLACED / 24
        for _ in range(int(replaced) + (rng.random() < replaced % 1)):
            oi = rng.randrange(self.n)
            self.objects[oi] = self._new_object(oi)
            self._touch(oi)
        total = sum(len(a) for a in self.applies)
        flips = total * FLIPS / 24
        for _ in range(int(flips) + (rng.random() < flips % 1)):
            ci = rng.randrange(len(self.checks))
            oi = rng.choice(self.applies[ci])
            self.status[ci][oi] = _weighted(rng, STATUS_WEIGHTS)
            self.rows[ci].pop(oi, None)
            self.cids[ci].pop(oi, None)

    def run_rows(self, pillars: set[str] | None = None) -> list[tuple[dict[str, Any], list[tuple[Any, ...]]]]:
        """``(check, rows)`` of one run over ``pillars`` (every pillar: None)."""
        return [
            (c, [self.row(ci, oi) for oi in self.applies[ci]])
            for ci, c in enumerate(self.checks)
            if pillars is None or c["pillar"] in pillars
        ]


def counts(items: list[tuple[dict[str, Any], list[tuple[Any, ...]]]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for check, rows in items:
        per = out.setdefault(check["pillar"], {})
        for r in rows:
            per[r[0]] = per.get(r[0], 0) + 1
    return out
