"""``kwa run --publish-reports``: apply a stored run's policy reports to the cluster it assessed.

Through the official ``kubernetes`` client, with the credentials the run read the cluster with
(:func:`checks.sources.live.kubeconfig.configure`). Per dialect (wg-policy, OpenReports):

1. discovery (``GET /apis/<group>/<version>``): a 404, or a group without the report kinds, means
   the CRD is not installed: one warning naming it, nothing written;
2. every report is server-side applied (field manager ``kwa``, forced: kwa owns these objects);
3. kwa-managed reports of this cluster (label selector ``app.kubernetes.io/managed-by=kwa,
   kwa.io/cluster=<cluster>``) that the new set does not name are deleted: the previous run's
   extra parts, namespaces that have no results any more.

Publishing never fails the run nor changes its stored state: a 403 names the verb and resource
the identity lacks (deploy/kubernetes/policy-reports/ grants them), anything else is one warning.
Only a run that ended completed or partial, with results, is published: a failed or aborted
run's results are incomplete, and a run that stored none would delete the reports for nothing.
The RBAC and the mapping are in docs/policy-reports.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cli.formatters.policyreport import CLUSTER_LABEL, DIALECTS, MANAGED_BY, Dialect, build_reports, label_value

FIELD_MANAGER = "kwa"
PUBLISHABLE_STATES = ("completed", "partial")
RBAC_HINT = "deploy/kubernetes/policy-reports/ grants them"
REQUEST_TIMEOUT = 30.0


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


@dataclass
class Published:
    """What one dialect's publication did."""

    dialect: str
    applied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    problem: str | None = None  # why it stopped, said as a warning


class _Stop(Exception):
    """This dialect cannot go on; the message is the warning."""


def publish(
    run: Mapping[str, Any],
    rows: list[dict[str, Any]],
    kubeconfig: str | None,
    context: str | None,
    formats: tuple[str, ...] = tuple(DIALECTS),
    warn: Callable[[str], None] = _stderr,
) -> list[Published]:
    """Apply ``run``'s reports in each of ``formats``; what happened (also said through ``warn``)."""
    state = run.get("state")
    if state not in PUBLISHABLE_STATES:
        warn(f"policy reports not published: run {run.get('run_id')} ended {state} (its results are incomplete)")
        return []
    if not rows:  # nothing assessed: keep the previous reports rather than delete them for nothing
        warn(f"policy reports not published: run {run.get('run_id')} stored no results")
        return []
    try:
        api = _client(kubeconfig, context)
    except Exception as exc:  # a kubeconfig that worked for the run moments ago: rare, never fatal
        warn(f"policy reports not published: cannot configure the Kubernetes client: {_reason(exc)}")
        return []
    outcomes = []
    for fmt in formats:
        outcome = Published(fmt)
        try:
            _publish_one(api, DIALECTS[fmt], run, rows, fmt, outcome)
        except _Stop as stop:
            outcome.problem = str(stop)
            warn(f"policy reports ({DIALECTS[fmt].api_version}) not fully published: {stop}")
        except Exception as exc:  # the run is stored and its exit code decided: publishing never changes it
            outcome.problem = f"unexpected {_reason(exc)}"
            warn(f"policy reports ({DIALECTS[fmt].api_version}) not fully published: {outcome.problem}")
        outcomes.append(outcome)
        if outcome.problem is None:
            gone = f", {len(outcome.deleted)} stale removed" if outcome.deleted else ""
            warn(
                f"published {len(outcome.applied)} {DIALECTS[fmt].api_version} report(s) of run {run.get('run_id')}"
                f"{gone}"
            )
    api.api_client.close()
    return outcomes


def stored_rows(db: Any, run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows :func:`publish` needs of a stored ``run``: its results when it may be published,
    else none (nothing is read for a run :func:`publish` would refuse)."""
    from storage.queries import run_results

    return run_results(db, run["run_id"]) if run.get("state") in PUBLISHABLE_STATES else []


def _client(kubeconfig: str | None, context: str | None) -> Any:
    from kubernetes import client

    from checks.sources.live.kubeconfig import configure

    target = configure(kubeconfig, context)
    return client.CustomObjectsApi(client.ApiClient(target.configuration))


def _reason(exc: BaseException) -> str:
    import redaction

    status = getattr(exc, "status", None)
    text = getattr(exc, "reason", None) or type(exc).__name__
    return redaction.redact(f"HTTP {status} {text}" if status else f"{text}: {exc}")[:300]


def _call(what: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; a 403 or any other failure stops this dialect with a named reason."""
    from kubernetes.client.exceptions import ApiException

    try:
        return fn(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
    except ApiException as exc:
        if exc.status == 403:
            raise _Stop(f"forbidden: may not {what} {resource} ({RBAC_HINT})") from None
        raise _Stop(f"{what} {resource} failed: {_reason(exc)}") from None
    except Exception as exc:
        raise _Stop(f"{what} {resource} failed: {_reason(exc)}") from None


def _installed(api: Any, dialect: Dialect) -> None:
    from kubernetes.client.exceptions import ApiException

    crds = f"{dialect.plural}.{dialect.group} and {dialect.cluster_plural}.{dialect.group}"
    try:
        found = api.get_api_resources(dialect.group, dialect.version, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status == 404:
            raise _Stop(f"the CRDs {crds} ({dialect.api_version}) are not installed in the cluster") from None
        if exc.status == 403:
            raise _Stop(f"forbidden: may not discover {dialect.api_version} ({RBAC_HINT})") from None
        raise _Stop(f"discovering {dialect.api_version} failed: {_reason(exc)}") from None
    except Exception as exc:
        raise _Stop(f"discovering {dialect.api_version} failed: {_reason(exc)}") from None
    names = {getattr(r, "name", None) for r in getattr(found, "resources", None) or []}
    missing = [p for p in (dialect.plural, dialect.cluster_plural) if p not in names]
    if missing:
        which = ", ".join(f"{p}.{dialect.group}" for p in missing)
        raise _Stop(f"the CRD {which} ({dialect.api_version}) is not installed in the cluster")


def _publish_one(
    api: Any, dialect: Dialect, run: Mapping[str, Any], rows: list[dict[str, Any]], fmt: str, outcome: Published
) -> None:
    _installed(api, dialect)
    reports = build_reports(run, rows, fmt)
    g, v = dialect.group, dialect.version
    apply = {"field_manager": FIELD_MANAGER, "force": True, "_content_type": "application/apply-patch+yaml"}
    wanted: set[tuple[str | None, str, str]] = set()
    for report in reports:
        meta = report["metadata"]
        ns, name = meta.get("namespace"), meta["name"]
        plural = dialect.plural if ns is not None else dialect.cluster_plural
        resource = f"{plural}.{g}"
        if ns is not None:
            _call("patch", resource, api.patch_namespaced_custom_object, g, v, ns, plural, name, report, **apply)
        else:
            _call("patch", resource, api.patch_cluster_custom_object, g, v, plural, name, report, **apply)
        wanted.add((ns, plural, name))
        outcome.applied.append(f"{ns}/{name}" if ns else name)
    selector = f"{MANAGED_BY[0]}={MANAGED_BY[1]},{CLUSTER_LABEL}={label_value(str(run.get('cluster_id') or ''))}"
    for plural, namespaced in ((dialect.plural, True), (dialect.cluster_plural, False)):
        resource = f"{plural}.{g}"
        lister = api.list_custom_object_for_all_namespaces if namespaced else api.list_cluster_custom_object
        found = _call("list", resource, lister, g, v, plural, label_selector=selector)
        for item in (found or {}).get("items") or []:
            meta = item.get("metadata") or {}
            ns, name = (meta.get("namespace") if namespaced else None), meta.get("name")
            if not name or (ns, plural, name) in wanted:
                continue
            if namespaced:
                _call("delete", resource, api.delete_namespaced_custom_object, g, v, ns, plural, name)
            else:
                _call("delete", resource, api.delete_cluster_custom_object, g, v, plural, name)
            outcome.deleted.append(f"{ns}/{name}" if ns else name)
