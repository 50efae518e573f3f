"""The PSS mapping decisions hold for the checks as they run.

Each non-exact Pod Security Standards mapping in kwa/frameworks/data/pss-*.yaml rests on a
difference between the control and the kwa check, written in the control's note. Here each such
difference is a pod the control and the check judge differently, run through the real check: if a
check changes so that the difference goes away, the test fails and the mapping (and its note)
must be revisited. The exact mappings get the converse: pods both sides judge alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from checks.config import Config
from checks.context import CheckContext
from checks.model import Status
from checks.registry import load_all
from checks.snapshot import K8sObject, Snapshot
from checks.sources.manifests import parse_text

DATA = Path(__file__).resolve().parents[2] / "kwa" / "frameworks" / "data"
WORST = (Status.ERROR, Status.FAILING, Status.WARNING, Status.PASSING, Status.SKIPPED)


def _pod(spec: str) -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: probe, namespace: app}}\nspec:\n{spec}"


def _verdict(check_id: str, manifest: str) -> Status:
    """The check's worst status for the one pod in ``manifest``."""
    objects: list[K8sObject] = []
    problems: list = []
    parse_text(manifest, "probe.yaml", objects, problems)
    assert not problems, problems
    check = load_all(include_plugins=False).by_id(check_id)
    statuses = {r.status for r in check.func(CheckContext(Snapshot(objects=objects, mode="manifest"), Config(), check))}
    assert statuses, f"{check_id} gave no result"
    return next(s for s in WORST if s in statuses)


def _mapping(file_name: str, control_id: str) -> dict:
    controls = yaml.safe_load((DATA / f"{file_name}.yaml").read_text(encoding="utf-8"))["spec"]["controls"]
    return next(c for c in controls if c["id"] == control_id)


C = "  containers:\n  - name: c\n    image: nginx:1.27\n"

# (file, control, check, pod spec, what the PSS control decides, what the check gives)
DIFFERENCES = [
    # SEC-001 answers for both HostProcess and Privileged: a privileged Linux container fails it.
    (
        "pss-baseline",
        "baseline/host-process",
        "SEC-001",
        C + "    securityContext: {privileged: true}\n",
        "allowed",
        Status.FAILING,
    ),
    (
        "pss-baseline",
        "baseline/capabilities",
        "SEC-008",
        C + "    securityContext: {capabilities: {add: [SETPCAP]}}\n",
        "allowed",
        Status.FAILING,
    ),
    (
        "pss-baseline",
        "baseline/capabilities",
        "SEC-008",
        C + "    securityContext: {capabilities: {add: [CHOWN]}}\n",
        "allowed",
        Status.WARNING,
    ),
    (
        "pss-baseline",
        "baseline/capabilities",
        "SEC-008",
        C + "    securityContext: {capabilities: {add: [SYS_TIME]}}\n",
        "forbidden",
        Status.WARNING,
    ),
    (
        "pss-baseline",
        "baseline/hostpath-volumes",
        "SEC-012",
        C + "    volumeMounts: [{name: h, mountPath: /data, readOnly: true}]\n"
        "  volumes: [{name: h, hostPath: {path: /opt/data}}]\n",
        "forbidden",
        Status.WARNING,
    ),
    (
        "pss-baseline",
        "baseline/selinux",
        "SEC-015",
        "  securityContext: {seLinuxOptions: {type: spc_t}}\n"
        + C
        + "    securityContext: {seLinuxOptions: {type: container_t}}\n",
        "forbidden",
        Status.PASSING,
    ),
    (
        "pss-baseline",
        "baseline/proc-mount",
        "SEC-015",
        "  hostUsers: false\n" + C + "    securityContext: {procMount: Unmasked}\n",
        "allowed",
        Status.FAILING,
    ),
    (
        "pss-baseline",
        "baseline/seccomp",
        "SEC-014",
        "  securityContext: {seccompProfile: {type: Unconfined}}\n"
        + C
        + "    securityContext: {seccompProfile: {type: RuntimeDefault}}\n",
        "forbidden",
        Status.PASSING,
    ),
    ("pss-baseline", "baseline/seccomp", "SEC-014", C, "allowed", Status.WARNING),
    (
        "pss-restricted",
        "restricted/volume-types",
        "SEC-012",
        C + "  volumes: [{name: n, nfs: {server: nfs.example, path: /export}}]\n",
        "forbidden",
        Status.PASSING,
    ),
    ("pss-restricted", "restricted/privilege-escalation", "SEC-002", C, "forbidden", Status.WARNING),
    (
        "pss-restricted",
        "restricted/running-as-non-root",
        "SEC-003",
        C + "    securityContext: {runAsUser: 1000}\n",
        "forbidden",
        Status.PASSING,
    ),
    ("pss-restricted", "restricted/running-as-non-root-user", "SEC-003", C, "allowed", Status.FAILING),
    ("pss-restricted", "restricted/seccomp", "SEC-014", C, "forbidden", Status.WARNING),
    (
        "pss-restricted",
        "restricted/capabilities",
        "SEC-007",
        C + "    securityContext: {capabilities: {drop: [NET_RAW]}}\n",
        "forbidden",
        Status.WARNING,
    ),
    (
        "pss-restricted",
        "restricted/capabilities",
        "SEC-008",
        C + "    securityContext: {capabilities: {add: [CHOWN], drop: [ALL]}}\n",
        "forbidden",
        Status.WARNING,
    ),
]


@pytest.mark.parametrize(("file_name", "control_id", "check_id", "spec", "pss", "kwa"), DIFFERENCES)
def test_a_partial_mapping_differs_where_its_note_says(file_name, control_id, check_id, spec, pss, kwa) -> None:  # type: ignore[no-untyped-def]
    control = _mapping(file_name, control_id)
    assert check_id in control["checks"] and control["mapping"] == "partial", control_id
    # The control only admits or rejects; a warning is neither, so it differs from both (the
    # control's framework status is then "warning" where the control passes or fails outright).
    control_says = Status.PASSING if pss == "allowed" else Status.FAILING
    assert kwa != control_says, f"{control_id}: {check_id} now agrees with the control: revisit the mapping"
    assert _verdict(check_id, _pod(spec)) == kwa, f"{control_id}: {check_id} no longer behaves as its note says"


# (file, control, check, pod spec, the verdict both the control and the check give)
AGREEMENTS = [
    ("pss-baseline", "baseline/host-ports", "SEC-011", C + "    ports: [{containerPort: 80, hostPort: 8080}]\n", False),
    ("pss-baseline", "baseline/host-ports", "SEC-011", C + "    ports: [{containerPort: 80, hostPort: 0}]\n", True),
    ("pss-baseline", "baseline/host-namespaces", "SEC-009", "  hostIPC: true\n" + C, False),
    ("pss-baseline", "baseline/host-namespaces", "SEC-010", "  hostNetwork: true\n" + C, False),
    ("pss-baseline", "baseline/host-namespaces", "SEC-010", "  hostNetwork: false\n" + C, True),
    (
        "pss-baseline",
        "baseline/sysctls",
        "SEC-016",
        "  securityContext: {sysctls: [{name: net.ipv4.tcp_keepalive_time, value: '60'}]}\n" + C,
        True,
    ),
    (
        "pss-baseline",
        "baseline/sysctls",
        "SEC-016",
        "  securityContext: {sysctls: [{name: kernel.msgmax, value: '65536'}]}\n" + C,
        False,
    ),
]


@pytest.mark.parametrize(("file_name", "control_id", "check_id", "spec", "allowed"), AGREEMENTS)
def test_an_exact_mapping_agrees_with_the_control(file_name, control_id, check_id, spec, allowed) -> None:  # type: ignore[no-untyped-def]
    control = _mapping(file_name, control_id)
    assert check_id in control["checks"] and control["mapping"] == "exact", control_id
    assert _verdict(check_id, _pod(spec)) == (Status.PASSING if allowed else Status.FAILING), control_id
