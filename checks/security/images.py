"""Where images come from (SEC-022)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fnmatch import fnmatch

from checks.context import CheckContext
from checks.k8s import parse_image
from checks.model import Result, SkipReason
from checks.registry import check

_DEPRECATED_REGISTRIES = ("k8s.gcr.io",)


_DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


def _registry_allowed(registry: str, repository: str, allow: Iterable[str]) -> bool:
    """An entry matches the registry host (globs allowed) or a ``registry/path`` prefix."""
    host = "docker.io" if registry in _DOCKER_HUB_ALIASES else registry
    full = f"{host}/{repository}"
    for entry in allow:
        entry = str(entry).strip().rstrip("/")
        if not entry:
            continue
        if entry in _DOCKER_HUB_ALIASES:
            entry = "docker.io"
        if fnmatch(host, entry) or full == entry or full.startswith(entry + "/") or fnmatch(full, entry):
            return True
    return False


@check("SEC-022")
def image_provenance(ctx: CheckContext) -> Iterator[Result]:
    """Check every image of C against the registry allow-list, the digest option and deprecated registries.

    Rule (docs/catalogue.md#sec-022): failing when a registry is not in ``registry_allow_list`` (entries are
    registry hosts, globs, or ``registry/path`` prefixes; only when the list is configured); warning
    for the deprecated ``k8s.gcr.io`` (always); warning for images not pinned by digest when
    ``require_digest`` is on; skipped(not-applicable) when no allow-list is configured and the digest
    option is off, unless the deprecated-registry warning applies; passing otherwise.
    """
    allow = [str(a) for a in ctx.setting("registry_allow_list", []) or []]
    require_digest = bool(ctx.setting("require_digest", False))
    for w in ctx.snapshot.workloads():
        failures: list[str] = []
        warnings: list[str] = []
        first_fail: str | None = None
        first_warn: str | None = None
        for c in w.containers(include_ephemeral=ctx.live):
            image = c.get("image")
            if not image:
                continue
            cname = c.get("name", "?")
            ref = parse_image(str(image))
            if allow and not _registry_allowed(ref.registry, ref.repository, allow):
                failures.append(f"{cname}: {image} (registry {ref.registry} not allowed)")
                first_fail = first_fail or cname
            if ref.registry in _DEPRECATED_REGISTRIES:
                warnings.append(f"{cname}: {image} (deprecated registry {ref.registry}; use registry.k8s.io)")
                first_warn = first_warn or cname
            if require_digest and ref.digest is None:
                warnings.append(f"{cname}: {image} (not pinned by digest)")
                first_warn = first_warn or cname
        if failures:
            yield ctx.fail(w, "; ".join(failures + warnings), container=first_fail, details=failures + warnings)
        elif warnings:
            yield ctx.warn(w, "; ".join(warnings), container=first_warn, details=warnings)
        elif not allow and not require_digest:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no registry allow-list configured and require_digest is off")
        else:
            yield ctx.ok(w)
