"""Pick and read a run's source: manifests, a live cluster, or the bundled demo cluster."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from checks.snapshot import Snapshot

if TYPE_CHECKING:
    from checks.limits import Limits


@dataclass
class SourceSpec:
    kind: str  # "manifests" | "live" | "demo"
    paths: list[str] = field(default_factory=list)
    kubeconfig: str | None = None
    context: str | None = None
    request_timeout: float = 10.0
    # The directory relative paths (manifests, a kubeconfig) were named in: a rerun from elsewhere
    # (another shell, kwa serve's process) reads the same files, not whatever those names mean there.
    base: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "paths": list(self.paths),
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "request_timeout": self.request_timeout,
        }
        if self.base is not None:
            data["base"] = self.base
        return data

    def paths_here(self) -> list[str]:
        """The manifest paths as this process opens them: as given where they were given (so every
        message names them as the user did), joined to :attr:`base` anywhere else."""
        return [self._here(p) for p in self.paths]

    def kubeconfig_here(self) -> str | None:
        """The kubeconfig path as this process opens it (see :meth:`paths_here`)."""
        return None if self.kubeconfig is None else self._here(self.kubeconfig)

    def _here(self, path: str) -> str:
        if not self.base or path == "-" or os.path.isabs(os.path.expanduser(path)):
            return path
        if _same_directory(os.getcwd(), self.base):
            return path
        return os.path.join(self.base, path)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SourceSpec:
        data = dict(data or {})
        kind = data.get("kind") or "auto"
        if kind == "auto":
            return choose(data.get("paths"), data.get("kubeconfig"), data.get("context"))
        return cls(
            kind=kind,
            paths=list(data.get("paths") or []),
            kubeconfig=data.get("kubeconfig"),
            context=data.get("context"),
            request_timeout=float(data.get("request_timeout") or 10.0),
            base=str(data["base"]) if data.get("base") else None,
        )

    def default_cluster_id(self, cwd: str | None = None) -> str:
        """The name a run's history is kept under when the caller gives none.

        Manifests: named after their input (:mod:`checks.sources.naming`: the git repository and
        the path within it, else the directory or file name, ``stdin``), relative to ``cwd``.
        Runs stored before that was so keep the id ``manifests`` they were given.
        """
        if self.kind == "demo":
            return "demo-prod"
        if self.kind == "live":
            if self.context:
                return self.context
            try:
                from kubernetes import config as kube_config

                _, active = kube_config.list_kube_config_contexts(config_file=self.kubeconfig)
                return str(active["name"])
            except Exception:
                import os

                return "in-cluster" if os.environ.get("KUBERNETES_SERVICE_HOST") else "live"
        from checks.sources.naming import manifests_cluster_id

        return manifests_cluster_id(self.paths, cwd)

    def describe(self) -> str:
        if self.kind == "manifests":
            return "manifests: " + ", ".join("<stdin>" if p == "-" else p for p in self.paths)
        if self.kind == "live":
            return f"live cluster (context {self.context or 'current'})"
        return "bundled demo cluster"


def manifests(paths: list[str]) -> SourceSpec:
    """Manifests named here: relative paths keep this directory as their :attr:`SourceSpec.base`."""
    relative = any(p != "-" and not os.path.isabs(p) for p in paths)
    return SourceSpec("manifests", paths=list(paths), base=os.getcwd() if relative else None)


def _same_directory(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def choose(paths: list[str] | None, kubeconfig: str | None, context: str | None) -> SourceSpec:
    """Manifests when paths are given; a live cluster when one is configured; else the demo."""
    if paths:
        return manifests(paths)
    from checks.sources.live import kubeconfig_available

    if kubeconfig or context or kubeconfig_available():
        relative = kubeconfig is not None and not os.path.isabs(kubeconfig)
        return SourceSpec("live", kubeconfig=kubeconfig, context=context, base=os.getcwd() if relative else None)
    return SourceSpec("demo")


def load(spec: SourceSpec, deadline: float | None = None, limits: Limits | None = None) -> Snapshot:
    """The snapshot ``spec`` names. ``deadline`` (``time.monotonic()``) bounds reading a live cluster;
    ``limits`` bound what reading manifests may cost (the run's config ``limits:``; None: the
    defaults with ``KWA_LIMIT_*`` applied)."""
    if spec.kind == "manifests":
        from checks.sources.manifests import load_manifests

        return load_manifests(spec.paths_here(), limits=limits)
    if spec.kind == "live":
        from checks.sources.live import load_live

        return load_live(
            spec.kubeconfig_here(), spec.context, request_timeout=spec.request_timeout, deadline=deadline
        )
    if spec.kind == "demo":
        from checks.sources.demo import load_demo

        return load_demo()
    raise ValueError(f"unknown source kind {spec.kind!r} (manifests, live or demo)")
