"""The fixed world the demo cluster lives in: its clock, account, region, registries and nodes.

Everything here is a constant: the generator is deterministic because every timestamp is relative
to a fixed "now" and every random value comes from one stream seeded with ``SEED`` (see ``base.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

SEED = 20261101
NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
CLUSTER = "demo-prod"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
EKS_ECR = f"602401143452.dkr.ecr.{REGION}.amazonaws.com"
SERVER_VERSION = "1.29.4"

Obj = dict[str, Any]
DATA_DIR = Path(__file__).resolve().parent / "data"
RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def ts(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> str:
    """A timestamp ``days/hours/minutes/seconds`` before NOW, in the API's RFC 3339 form.

    Whole-day ages (the story's "created 41 days ago") are moved up to 90 minutes earlier by a
    fixed function of the age, so objects do not all appear at 12:00:00; every call with the same
    ``days`` gets the same shift, which keeps related timestamps ordered.
    """
    jitter = 0.0
    if isinstance(days, int) and days >= 1:
        jitter = (days * 7919 % 997) / 997 * 5400
    moment = NOW - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds + jitter)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


NODES = {
    # name: (zone, subnet third-octet range, instance type, cpu, memory Ki, age days, nodegroup, kubelet)
    "ip-10-0-12-87.eu-west-1.compute.internal": ("a", (0, 31), "m5.xlarge", 4, 15896988, 41, "general-v3", "1.29.3"),
    "ip-10-0-21-140.eu-west-1.compute.internal": ("a", (0, 31), "m5.xlarge", 4, 15896988, 41, "general-v3", "1.29.3"),
    "ip-10-0-44-9.eu-west-1.compute.internal": ("b", (32, 63), "m5.xlarge", 4, 15896988, 2, "general-v3", "1.29.3"),
    "ip-10-0-51-203.eu-west-1.compute.internal": ("b", (32, 63), "r5.large", 2, 15896988, 212, "db-v1", "1.28.8"),
}
N1, N2, N3, N4 = NODES


def data(name: str) -> Any:
    """A bundled data file (``data/<name>``): objects whose content is plain data, kept as YAML so
    they read like the manifests they stand for."""
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
