"""Labels stay bounded: only cluster, pillar, severity, status, state and framework, never an object's name."""

from __future__ import annotations

from sqlalchemy import select

from kwa.frameworks import STATUSES as CONTROL_STATUSES
from kwa.frameworks import names as framework_names
from kwa.metrics.collector import METRICS, RUN_STATES
from storage.enums import STATUSES
from storage.models import assessments_table as A
from storage.models import runs_table as R
from storage.query_model import SEVERITIES
from tests.metrics.helpers import exposition, parse

ALLOWED = {"cluster", "pillar", "severity", "status", "state", "framework"}


def test_label_names_and_values_come_from_small_fixed_sets(collector, seeded_db) -> None:
    samples = parse(exposition(collector))
    with seeded_db.read() as conn:
        clusters = {r[0] for r in conn.execute(select(R.c.cluster_id))}
        pillars = {r[0] for r in conn.execute(select(A.c.pillar))}
        objects = {
            v
            for row in conn.execute(select(A.c.object_name, A.c.object_namespace, A.c.object_kind, A.c.check_id))
            for v in row
            if v
        }
    assert objects  # the seeded results name objects; none of them may become a label value
    allowed_values = {
        "cluster": clusters,
        "pillar": pillars | {"operational-excellence"},
        "severity": set(SEVERITIES),
        "status": set(STATUSES) | set(CONTROL_STATUSES),  # result statuses; a framework's control statuses
        "state": set(RUN_STATES),
        "framework": set(framework_names()),
    }
    seen = 0
    for name, series in samples.items():
        for key in series:
            labels = dict(key)
            assert set(labels) <= ALLOWED, (name, labels)
            assert set(labels) == set(METRICS[name].labels)
            for label, v in labels.items():
                assert v in allowed_values[label], (name, label, v)
                assert v not in objects - clusters - pillars, (name, label, v)
            seen += 1
    # Bounded: per cluster at most pillars x severities x statuses findings plus a few dozen others.
    per_framework = 2 + len(CONTROL_STATUSES)
    per_cluster = (
        len(allowed_values["pillar"]) * len(SEVERITIES) * len(STATUSES)
        + 2 * len(RUN_STATES)
        + len(allowed_values["framework"]) * per_framework
        + 64
    )
    assert seen <= len(clusters) * per_cluster + 2
