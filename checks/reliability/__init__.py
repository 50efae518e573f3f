"""Reliability checks (REL-xxx): probes, workloads, disruption, spread, references, jobs, live health.

Relationship checks (PDB, HPA, Service, Ingress, references) follow the manifest convention
(docs/catalogue.md#conventions): a run on manifests only sees the objects it was given, so "the
other object does not exist" is a ``warning`` there (it may be created elsewhere) and ``failing``
only on a live cluster, where absence is a fact. Metadata: checks.yaml.
"""

from checks.registry import bind_package

# Imports every module of this package and registers each @check("ID") with its checks.yaml entry.
bind_package(__name__)
