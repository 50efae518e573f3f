"""Pod Security Admission and policy engines (SEC-031)."""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import check
from checks.security.common import _namespace_subject
from checks.snapshot import Snapshot

_PSA = "pod-security.kubernetes.io/"


_ENFORCING_LEVELS = ("baseline", "restricted")


_POLICY_ENGINES = ("gatekeeper", "kyverno", "kubewarden")


def _policy_webhooks(snap: Snapshot) -> list[str]:
    found = []
    for hook in snap.of_kind("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        names = [hook.name] + [str(h.get("name") or "") for h in hook.raw.get("webhooks") or [] if isinstance(h, dict)]
        if any(engine in n.lower() for n in names for engine in _POLICY_ENGINES):
            found.append(hook.ref)
    return found


@check("SEC-031")
def pod_security_admission(ctx: CheckContext) -> Iterator[Result]:
    """Grade each namespace's Pod Security Admission labels.

    Rule (docs/catalogue.md#sec-031): passing: ``enforce`` is baseline or restricted; warning: only audit/warn
    labels, or enforce=privileged on a non-system namespace (``system_namespaces`` setting), or no PSA
    label but a policy-engine webhook (Gatekeeper, Kyverno, Kubewarden) is present; failing: no PSA
    label and no policy webhook. Interpretations: enforce=privileged on a system namespace passes
    (that is the expected setting there); an unrecognised enforce value is a warning; in manifest
    mode a namespace the run never defines has unknown labels, which is a warning.
    """
    snap = ctx.snapshot
    system = set(ctx.setting("system_namespaces", []) or [])
    webhooks = _policy_webhooks(snap)
    for ns in snap.namespaces():
        obj = snap.get("Namespace", None, ns)
        if obj is None and not ctx.live:
            yield ctx.warn(_namespace_subject(snap, ns), "Namespace object not in these manifests; PSA labels unknown")
            continue
        subject = obj or _namespace_subject(snap, ns)
        labels = subject.labels
        enforce = labels.get(_PSA + "enforce")
        others = sorted(k[len(_PSA):] for k in labels if k.startswith(_PSA) and k[len(_PSA):] in ("audit", "warn"))
        if enforce in _ENFORCING_LEVELS:
            yield ctx.ok(subject, f"enforce={enforce}")
        elif enforce == "privileged":
            if ns in system:
                yield ctx.ok(subject, "enforce=privileged on a system namespace")
            else:
                yield ctx.warn(subject, "enforce=privileged: Pod Security Admission admits everything")
        elif enforce is not None:
            yield ctx.warn(subject, f"unrecognised enforce level {enforce!r}")
        elif others:
            yield ctx.warn(subject, f"only {'/'.join(others)} labels; nothing is enforced")
        elif webhooks:
            yield ctx.warn(subject, "no PSA labels; relies on policy webhook(s) " + ", ".join(webhooks),
                           details=webhooks)
        else:
            yield ctx.fail(subject, "no Pod Security Admission labels and no policy engine webhook")
