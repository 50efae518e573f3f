"""Spec hygiene: recommended labels, pull policies, duplicate or inconsistent fields
(OPS-003, OPS-005, OPS-008).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from checks.context import CheckContext
from checks.k8s import as_int, parse_image, selector_key, service_selector_matches
from checks.model import Result
from checks.registry import check
from checks.snapshot import K8sObject, Workload


@check("OPS-003")
def recommended_labels(ctx: CheckContext) -> Iterator[Result]:
    """Warn listing the missing keys of ``required_labels`` (default name + instance) plus any of
    ``recommended_labels_extra`` on workloads and Services (object metadata labels). With
    ``check_instance_matches_name: true``, also warn when ``app.kubernetes.io/instance`` differs from
    ``metadata.name`` (Polaris metadataAndInstanceMismatched); off by default because Helm sets the
    instance to the release name.
    """
    required = [str(x) for x in ctx.setting("required_labels", ["app.kubernetes.io/name",
                                                                "app.kubernetes.io/instance"]) or []]
    required += [str(x) for x in ctx.setting("recommended_labels_extra", []) or [] if str(x) not in required]
    match_name = bool(ctx.setting("check_instance_matches_name", False))
    subjects: list[Workload | K8sObject] = [*ctx.snapshot.workloads(), *ctx.snapshot.of_kind("Service")]
    for subject in subjects:
        obj = subject.obj if isinstance(subject, Workload) else subject
        labels = obj.labels
        problems = [f"missing label {k}" for k in required if k not in labels]
        instance = labels.get("app.kubernetes.io/instance")
        if match_name and instance is not None and instance != obj.name:
            problems.append(f"app.kubernetes.io/instance {instance!r} differs from metadata.name")
        if problems:
            yield ctx.warn(subject, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(subject)


@check("OPS-005")
def pull_policy(ctx: CheckContext) -> Iterator[Result]:
    """Failing when a container in C has a mutable image reference (``latest`` or no tag, no digest) and an
    explicit ``imagePullPolicy`` of ``IfNotPresent`` or ``Never``; passing otherwise
    (docs/catalogue.md#image-pull-policy: Always is not required for immutable tags, and unset defaults to
    Always for mutable ones).
    """
    for w in ctx.snapshot.workloads():
        bad = []
        for c in w.containers(include_ephemeral=ctx.live):
            image = c.get("image")
            if not image:
                continue
            if parse_image(str(image)).mutable and c.get("imagePullPolicy") in ("IfNotPresent", "Never"):
                bad.append(c.get("name", "?"))
        if bad:
            yield ctx.fail(w, f"mutable image tag with imagePullPolicy IfNotPresent/Never: {', '.join(bad)}",
                           container=bad[0], details=bad)
        else:
            yield ctx.ok(w)


def _dupes(items: list[str]) -> list[str]:
    return sorted(k for k, n in Counter(items).items() if n > 1)


def _named_ports(w: Workload) -> dict[int, str]:
    out: dict[int, str] = {}
    for c in w.containers():
        for p in c.get("ports") or []:
            number = as_int(p.get("containerPort"))
            if p.get("name") and number is not None:
                out.setdefault(number, str(p["name"]))
    return out


@check("OPS-008")
def spec_hygiene(ctx: CheckContext) -> Iterator[Result]:
    """Workloads: failing for a duplicate env var name in a container, a port name longer than 15 characters,
    or a port name used twice in the pod; warning for the deprecated ``serviceAccount`` field (manifests
    only: the API server copies serviceAccountName into it on every live object).
    Services: failing for a named ``targetPort`` longer than 15 characters; warning for a numeric
    ``targetPort`` whose container port has a name (POP-1102); passing otherwise.
    """
    snap = ctx.snapshot
    for w in snap.workloads():
        failures: list[str] = []
        warnings: list[str] = []
        first: str | None = None
        port_names: list[str] = []
        for c in w.containers(include_ephemeral=ctx.live):
            name = c.get("name", "?")
            dup_env = _dupes([e.get("name", "") for e in c.get("env") or [] if isinstance(e, dict)])
            if dup_env:
                failures.append(f"{name}: duplicate env var(s) {', '.join(dup_env)}")
                first = first or name
            for p in c.get("ports") or []:
                pname = p.get("name")
                if pname:
                    port_names.append(str(pname))
                    if len(str(pname)) > 15:
                        failures.append(f"{name}: port name {pname!r} is longer than 15 characters")
                        first = first or name
        dup_ports = _dupes(port_names)
        if dup_ports:
            failures.append(f"duplicate port name(s) {', '.join(dup_ports)}")
        if not ctx.live and w.pod_spec.get("serviceAccount"):
            warnings.append("deprecated field serviceAccount: use serviceAccountName")
        if failures:
            yield ctx.fail(w, "; ".join(failures + warnings), container=first, details=failures + warnings)
        elif warnings:
            yield ctx.warn(w, "; ".join(warnings), details=warnings)
        else:
            yield ctx.ok(w)
    ports_of: dict[int, dict[int, str]] = {}  # each workload's named ports, read once however many Services select it
    named_of: dict[tuple[str | None, str], dict[int, str]] = {}  # Services with one selector share the answer
    for svc in snap.of_kind("Service"):
        selector = svc.spec.get("selector") or {}
        key = (svc.namespace, selector_key(selector))
        named = named_of.get(key)
        if named is None:
            selected = [w for w in snap.select_workloads(svc.namespace, {"matchLabels": selector})
                        if service_selector_matches(selector, w.pod_labels)] if selector else []
            named = named_of[key] = {}
            for w in selected:
                ports = ports_of.get(id(w))
                if ports is None:
                    ports = ports_of[id(w)] = _named_ports(w)
                for number, pname in ports.items():
                    named.setdefault(number, pname)
        failures, warnings = [], []
        for port in svc.spec.get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str) and not target.isdigit():
                if len(target) > 15:
                    failures.append(f"targetPort name {target!r} is longer than 15 characters")
            elif as_int(target) in named:
                warnings.append(f"numeric targetPort {target}: the container names it {named[as_int(target)]!r}")
        if failures:
            yield ctx.fail(svc, "; ".join(failures + warnings), details=failures + warnings)
        elif warnings:
            yield ctx.warn(svc, "; ".join(warnings), details=warnings)
        else:
            yield ctx.ok(svc)
