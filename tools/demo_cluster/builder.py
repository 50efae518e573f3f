"""The toolbox every scene is handed: one object that owns the random stream and the dump, with a
maker for each kind (the makers live in modules named for the kinds they make)."""

from __future__ import annotations

from .derived import DerivedMakers
from .objects import ObjectMakers
from .scaling import ScalingMakers
from .workloads import WorkloadMakers


class Builder(WorkloadMakers, ObjectMakers, ScalingMakers, DerivedMakers):
    """``namespace``, ``service_account``, ``config_map``, ``secret``, ``service``, ``pvc``, ``pv``,
    ``rbac_role``, ``binding``, ``network_policy``, ``ingress`` (objects.py); ``pod`` (pods.py);
    ``deployment``, ``daemonset`` (workloads.py); ``pdb``, ``hpa`` (scaling.py); ``quota_usage``,
    ``endpoint_slices``, ``metrics`` (derived.py); ``meta``, ``add``, ids and IPs (base.py)."""
