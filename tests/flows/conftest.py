"""Fixtures shared by the flow tests: a small manifest and the deliberately misbehaving checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.registry import load_all
from tests.flows import misbehaving

GOOD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad_checks():  # type: ignore[no-untyped-def]
    load_all()
    yield misbehaving.register()
    misbehaving.unregister()
