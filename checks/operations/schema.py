"""Objects valid against the Kubernetes OpenAPI schema of the target version (OPS-012).

The validation itself, shared with the rule that turns other checks' verdicts on invalid objects
into errors, is in :mod:`checks.schema_full`; this module reports it.
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result, SkipReason
from checks.registry import check
from checks.schema_full import INDEX, VALID, SchemaFindings, Verdict, Violation
from checks.snapshot import K8sObject

SHOWN = 5  # violations named in a message; details keep every one (up to MAX_VIOLATIONS)


@check("OPS-012")
def schema_valid(ctx: CheckContext) -> Iterator[Result]:
    """Per object: failing when it breaks the OpenAPI schema of the target Kubernetes version (a
    value outside the field's closed set, a wrong type, an unknown field, a missing required field),
    listing every violation with its JSON path; passing when valid; skipped when no schema knows its
    apiVersion and kind (a custom resource whose CustomResourceDefinition is not in the input, or an
    API the target does not serve). A custom resource whose CRD is in the input is validated against
    that CRD's schema (``checks/schema_crd.py`` says which parts of it).

    Target version: the ``kubernetes_version`` setting, else the live server version, else the newest
    bundled; a version kwa does not bundle uses the nearest bundled one, and the message says so.
    Objects the input boundary quarantined for wrong field types fail here with those problems.
    Closed value sets the OpenAPI schema only describes come from ``checks/data/schema_enums.yaml``.
    Live objects owned by a controller are reported through their owner.
    """
    findings: SchemaFindings = ctx.snapshot.index(INDEX)
    configured = ctx.setting("kubernetes_version", None)
    bundle, note = findings.target(configured)
    if bundle is None:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, note)
        return
    _, verdicts = findings.verdicts(configured)
    against = f"{bundle.label} ({note})" if note else bundle.label
    for obj in ctx.snapshot.objects:
        if ctx.live and obj.controller_ref is not None:
            continue
        verdict = verdicts.get(id(obj), VALID)
        if verdict.unknown is not None:
            yield ctx.skip(obj, SkipReason.NOT_APPLICABLE, f"not validated: {verdict.unknown}")
        elif verdict.violations:
            yield _failing(ctx, obj, verdict, verdict.against or against)
        else:
            yield ctx.ok(obj, f"valid against {verdict.against or against}")
    for bad in ctx.snapshot.malformed:
        verdict = verdicts.get(id(bad.obj), VALID)
        if not verdict.violations:
            found = tuple(Violation(p.path, f"must be {p.expected}, got {p.got}") for p in bad.problems)
            verdict = Verdict(found, max(bad.total, len(found)))
        result = _failing(ctx, bad.obj, verdict, against)
        result.kind, result.namespace, result.name = bad.kind, bad.namespace, bad.name
        yield result


def _failing(ctx: CheckContext, obj: K8sObject, verdict: Verdict, against: str) -> Result:
    shown = "; ".join(str(v) for v in verdict.violations[:SHOWN])
    more = f" (and {verdict.total - SHOWN} more)" if verdict.total > SHOWN else ""
    count = f"{verdict.total} schema violation{'s' if verdict.total != 1 else ''}"
    details = {
        "target": against,
        "violations": [v.as_dict() for v in verdict.violations],
        "total": verdict.total,
    }
    first = verdict.violations[0].path or None
    return ctx.fail(obj, f"{count} against {against}: {shown}{more}", field=first, details=details)
