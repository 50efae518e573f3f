"""Helpers shared by more than one sustainability topic module."""

from __future__ import annotations

REPLICATED_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})
