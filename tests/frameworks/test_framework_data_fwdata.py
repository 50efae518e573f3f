"""The MITRE ATT&CK and Pod Security Standards framework files keep the framework-file rules.

Self-contained on purpose: it reads the YAML itself and checks it against the built-in check
catalogue, so a bad mapping is caught even without the framework loader (kwa.frameworks). The
rules are those of docs/frameworks.md: the fixed top-level shape, only the known control fields,
unique ids, every mapped check a built-in one, a note wherever a mapping is not one-to-one, a
reason wherever a control is not assessed. On top of that, content rules for these three files:
MITRE ids and references agree, the PSS files hold the page's controls and Restricted repeats
Baseline unchanged.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.model import CheckDefinition, Mode, Pillar
from checks.registry import is_builtin, load_all

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "kwa" / "frameworks" / "data"
FILES = ("mitre", "pss-baseline", "pss-restricted")

TOP_KEYS = {"apiVersion", "kind", "metadata", "spec"}
SPEC_KEYS = {"title", "version", "source", "description", "controls"}
CONTROL_KEYS = {"id", "title", "reference", "checks", "mapping", "note", "assessed", "reason"}
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# Anything in prose that looks like a kwa check id, to catch a typo in a note ("SEC-31").
CHECK_ID_IN_TEXT = re.compile(r"\b(?:SEC|REL|PERF|COST|OPS|SUS)-\d+\b")

PSS_PAGE = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
BASELINE_IDS = {
    "baseline/host-process",
    "baseline/host-namespaces",
    "baseline/privileged-containers",
    "baseline/capabilities",
    "baseline/hostpath-volumes",
    "baseline/host-ports",
    "baseline/apparmor",
    "baseline/selinux",
    "baseline/proc-mount",
    "baseline/seccomp",
    "baseline/sysctls",
    "baseline/host-probes-lifecycle",
}
RESTRICTED_ONLY_IDS = {
    "restricted/volume-types",
    "restricted/privilege-escalation",
    "restricted/running-as-non-root",
    "restricted/running-as-non-root-user",
    "restricted/seccomp",
    "restricted/capabilities",
}
MITRE_ID = re.compile(r"^T\d{4}(?:\.\d{3})?$")


def _builtin() -> dict[str, CheckDefinition]:
    return {c.id: c for c in load_all(include_plugins=False).all() if is_builtin(c)}


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{name}.yaml: not a mapping"
    return document


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def problems(document: Any, file_name: str, catalogue: dict[str, CheckDefinition]) -> list[str]:
    """Every way ``document`` breaks the framework-file format, each naming file, control and field."""
    out: list[str] = []
    if not isinstance(document, dict):
        return [f"{file_name}: not a mapping"]
    if set(document) != TOP_KEYS:
        out.append(f"{file_name}: top-level keys {sorted(document)}, expected {sorted(TOP_KEYS)}")
    if document.get("apiVersion") != "kwa.io/v1" or document.get("kind") != "Framework":
        out.append(f"{file_name}: apiVersion/kind must be kwa.io/v1 Framework")
    meta = document.get("metadata") or {}
    if set(meta) != {"name"} or not NAME.match(str(meta.get("name"))) or meta.get("name") != file_name:
        out.append(f"{file_name}: metadata must be exactly {{name: {file_name}}} ([a-z0-9-])")
    spec = document.get("spec") or {}
    if not isinstance(spec, dict):
        return [*out, f"{file_name}: spec is not a mapping"]
    for key in sorted(set(spec) - SPEC_KEYS):
        out.append(f"{file_name}: spec: unknown field {key!r}")
    for key in ("title", "version", "source"):
        if not _text(spec.get(key)):
            out.append(f"{file_name}: spec: field {key!r} is required")
    if not str(spec.get("source", "")).startswith("https://"):
        out.append(f"{file_name}: spec: source must be an https URL")
    controls = spec.get("controls")
    if not isinstance(controls, list) or not controls:
        return [*out, f"{file_name}: spec: controls must be a non-empty list"]
    seen: set[str] = set()
    for i, control in enumerate(controls):
        if not isinstance(control, dict):
            out.append(f"{file_name}: control #{i + 1}: not a mapping")
            continue
        where = f"{file_name}: control {control.get('id', f'#{i + 1}')}"
        for key in sorted(set(control) - CONTROL_KEYS):
            out.append(f"{where}: unknown field {key!r}")
        for key in ("id", "title", "reference"):
            if not _text(control.get(key)):
                out.append(f"{where}: field {key!r} is required")
        if control.get("id") in seen:
            out.append(f"{where}: duplicate id")
        seen.add(str(control.get("id")))
        if not str(control.get("reference", "")).startswith("https://"):
            out.append(f"{where}: reference must be an https URL into the source")
        for word in CHECK_ID_IN_TEXT.findall(f"{control.get('note') or ''} {control.get('reason') or ''}"):
            if word not in catalogue:
                out.append(f"{where}: note or reason names {word}, which is not a built-in check")
        if control.get("assessed", True) is False:
            for key in ("checks", "mapping", "note"):
                if key in control:
                    out.append(f"{where}: field {key!r} is not allowed with assessed: false")
            if not _text(control.get("reason")):
                out.append(f"{where}: assessed: false needs a reason")
            continue
        if "assessed" in control and control["assessed"] is not True:
            out.append(f"{where}: assessed must be true or false")
        if "reason" in control:
            out.append(f"{where}: reason is only for assessed: false")
        checks = control.get("checks")
        if not isinstance(checks, list) or not checks or not all(_text(c) for c in checks):
            out.append(f"{where}: checks must be a non-empty list of check ids")
            continue
        if len(set(checks)) != len(checks):
            out.append(f"{where}: a check is listed twice")
        for check_id in checks:
            if check_id not in catalogue:
                out.append(f"{where}: unknown check id {check_id!r}")
        mapping = control.get("mapping")
        if mapping not in ("exact", "partial"):
            out.append(f"{where}: mapping must be exact or partial, got {mapping!r}")
        note = control.get("note")
        if (mapping == "partial" or len(checks) > 1) and not _text(note):
            out.append(f"{where}: a partial or multi-check mapping needs a note")
        if len(checks) > 1 and _text(note):
            # The note explains the mapping, so it says what each mapped check contributes.
            for check_id in checks:
                if check_id not in note:
                    out.append(f"{where}: note does not say what {check_id} covers")
    return out


@pytest.fixture(scope="module")
def catalogue() -> dict[str, CheckDefinition]:
    return _builtin()


@pytest.mark.parametrize("name", FILES)
def test_file_keeps_the_format_and_maps_only_builtin_checks(name: str, catalogue) -> None:  # type: ignore[no-untyped-def]
    assert problems(_load(name), name, catalogue) == []


@pytest.mark.parametrize("name", FILES)
def test_no_mapped_check_is_opt_in(name: str, catalogue) -> None:  # type: ignore[no-untyped-def]
    # An opt-in check is skipped (disabled) by default, which would leave its control unevaluated
    # on every ordinary run.
    opt_in = sorted(
        f"{c['id']}: {check_id}"
        for c in _load(name)["spec"]["controls"]
        for check_id in c.get("checks", [])
        if catalogue[check_id].opt_in
    )
    assert opt_in == []


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda c: c.__setitem__("severity", "high"), "unknown field 'severity'"),
        (lambda c: c.__setitem__("checks", ["SEC-999"]), "unknown check id 'SEC-999'"),
        (lambda c: (c.__setitem__("mapping", "partial"), c.pop("note", None)), "needs a note"),
        (lambda c: (c.pop("checks"), c.pop("mapping"), c.__setitem__("assessed", False)), "needs a reason"),
        (lambda c: c.__setitem__("assessed", False), "'checks' is not allowed with assessed: false"),
        (lambda c: c.__setitem__("note", "see SEC-31"), "names SEC-31"),
        (lambda c: c.__setitem__("reference", "attack.mitre.org"), "https URL"),
    ],
)
def test_the_rules_catch_a_broken_control(damage, expected: str, catalogue) -> None:  # type: ignore[no-untyped-def]
    # The rules above would pass anything if they checked nothing: break one control of a real
    # file and the problem must be reported, naming the file and the control.
    document = copy.deepcopy(_load("pss-baseline"))
    control = next(c for c in document["spec"]["controls"] if c["id"] == "baseline/host-ports")
    damage(control)
    found = problems(document, "pss-baseline", catalogue)
    assert any(expected in p and "baseline/host-ports" in p and p.startswith("pss-baseline:") for p in found), found


def test_a_duplicate_control_id_is_caught(catalogue) -> None:  # type: ignore[no-untyped-def]
    document = copy.deepcopy(_load("mitre"))
    document["spec"]["controls"].append(copy.deepcopy(document["spec"]["controls"][0]))
    assert any("duplicate id" in p for p in problems(document, "mitre", catalogue))


def test_mitre_ids_are_attack_techniques_and_references_point_at_them() -> None:
    controls = _load("mitre")["spec"]["controls"]
    for c in controls:
        assert MITRE_ID.match(c["id"]), c["id"]
        assert c["reference"] == f"https://attack.mitre.org/techniques/{c['id'].replace('.', '/')}/", c["id"]
    ids = {c["id"] for c in controls}
    # A technique is listed once: either as itself or through its container sub-technique.
    both = sorted(i for i in ids if "." in i and i.split(".")[0] in ids)
    assert both == []


def test_mitre_covers_every_tactic_of_the_containers_matrix() -> None:
    ids = {c["id"] for c in _load("mitre")["spec"]["controls"]}
    # One representative per tactic column of the matrix, so a column cannot silently vanish.
    for technique in ("T1190", "T1609", "T1525", "T1611", "T1612", "T1528", "T1613", "T1550.001", "T1496"):
        assert technique in ids, technique


def test_pss_files_hold_the_controls_of_the_page() -> None:
    baseline = {c["id"] for c in _load("pss-baseline")["spec"]["controls"]}
    restricted = {c["id"] for c in _load("pss-restricted")["spec"]["controls"]}
    assert baseline == BASELINE_IDS
    assert restricted == BASELINE_IDS | RESTRICTED_ONLY_IDS


def test_pss_references_name_the_level_of_the_control() -> None:
    for name in ("pss-baseline", "pss-restricted"):
        for c in _load(name)["spec"]["controls"]:
            level = c["id"].split("/")[0]
            assert c["reference"] == f"{PSS_PAGE}#{level}", f"{name}: {c['id']}"


def test_restricted_repeats_baseline_with_the_same_mapping() -> None:
    # Restricted is "everything from the baseline profile": the shared controls must not drift
    # apart (a note may differ where Restricted tightens the control, as for /proc mounts).
    baseline = {c["id"]: c for c in _load("pss-baseline")["spec"]["controls"]}
    restricted = {c["id"]: c for c in _load("pss-restricted")["spec"]["controls"]}
    for cid, control in baseline.items():
        same = {k: restricted[cid].get(k) for k in ("title", "reference", "checks", "mapping", "assessed")}
        assert same == {k: control.get(k) for k in same}, cid


def test_pss_controls_map_to_pod_spec_security_checks(catalogue) -> None:  # type: ignore[no-untyped-def]
    # Every PSS control restricts pod spec fields, so every check mapped to one reads specs
    # (works on manifests as on clusters) and belongs to the security pillar.
    for name in ("pss-baseline", "pss-restricted"):
        for c in _load(name)["spec"]["controls"]:
            for check_id in c.get("checks", []):
                d = catalogue[check_id]
                assert (d.pillar, d.mode) == (Pillar.SECURITY, Mode.MANIFEST), f"{name}: {c['id']}: {check_id}"
