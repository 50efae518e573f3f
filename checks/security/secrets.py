"""Secrets and credentials where they should not be: env vars, literal values, ConfigMaps
(SEC-019 to SEC-021).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.model import Result
from checks.registry import check


@check("SEC-019")
def secrets_in_env(ctx: CheckContext) -> Iterator[Result]:
    """Warn on any container that takes a Secret through ``env[].valueFrom.secretKeyRef`` or ``envFrom[].secretRef``.

    Rule (docs/catalogue.md#sec-019): warning if present in any container of C; passing otherwise. Only env
    var and Secret names are reported.
    """
    for w in ctx.snapshot.workloads():
        found: list[str] = []
        first: str | None = None
        for c in w.containers(include_ephemeral=ctx.live):
            cname = c.get("name", "?")
            hits = []
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    hits.append(f"{cname}: env {env.get('name', '?')} from Secret {ref.get('name', '?')}")
            for src in c.get("envFrom") or []:
                ref = src.get("secretRef")
                if ref:
                    hits.append(f"{cname}: envFrom Secret {ref.get('name', '?')}")
            if hits and first is None:
                first = cname
            found += hits
        if found:
            yield ctx.warn(w, f"Secret(s) exposed as environment variables: {'; '.join(found)}", container=first,
                           details=found)
        else:
            yield ctx.ok(w)


_SENSITIVE_NAME = re.compile(
    r"(?i)(passw(or)?d|pwd|secret|token|api[_-]?key|private[_-]?key|credential|bearer|AWS_SECRET_ACCESS_KEY)"
)


_SENSITIVE_VALUES = (
    # A PEM header: "BEGIN", a type of a few words ("RSA", "OPENSSH", "ENCRYPTED", none), "PRIVATE
    # KEY". Bounded: "BEGIN .*PRIVATE KEY" rescanned the rest of the line from every "BEGIN ", so a
    # value of "BEGIN BEGIN ..." (1.5 MB, within the limits) took minutes and timed the check out.
    (re.compile(r"BEGIN .{0,64}PRIVATE KEY"), "private key"),
    (re.compile(r"AKIA[0-9A-Z]{16}"), "AWS access key id"),
    (re.compile(r"eyJhbGciO"), "JWT"),
    (re.compile(r"ghp_[0-9A-Za-z]{36}"), "GitHub token"),
)


_ENV_REFERENCE = re.compile(r"^\s*(\$\([A-Za-z_][A-Za-z0-9_.-]*\)\s*)+$")


def _value_findings(value: str) -> list[str]:
    return [label for pattern, label in _SENSITIVE_VALUES if pattern.search(value)]


def _credential_reasons(name: str, value: str) -> list[str]:
    """Why ``name=value`` looks like a hard-coded credential (labels only, never the value)."""
    reasons = _value_findings(value)
    # An empty value or a pure $(VAR) reference holds no credential, whatever the name says.
    if value.strip() and not _ENV_REFERENCE.match(value) and _SENSITIVE_NAME.search(name):
        reasons.insert(0, "sensitive name")
    return reasons


@check("SEC-020")
def hardcoded_env_credentials(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads with a literal env ``value`` that looks like a credential.

    Rule (docs/catalogue.md#sec-020): ``C[].env[]`` with a literal ``value`` whose name matches the sensitive
    name pattern, or whose value matches a private key / AWS key id / JWT / GitHub token pattern.
    Interpretation: an empty value or a value made only of ``$(VAR)`` references is not a literal
    credential, so the name pattern alone does not fail it. Messages and details carry the env var
    NAME and the kind of match only, never the value.
    """
    for w in ctx.snapshot.workloads():
        found: list[dict[str, Any]] = []
        for c in w.containers(include_ephemeral=ctx.live):
            for env in c.get("env") or []:
                if "value" not in env or env.get("valueFrom"):
                    continue
                value = env.get("value")
                reasons = _credential_reasons(str(env.get("name") or ""), "" if value is None else str(value))
                if reasons:
                    found.append({"container": c.get("name", "?"), "env": env.get("name", "?"), "matched": reasons})
        if found:
            names = ", ".join(f"{f['container']}/{f['env']}" for f in found)
            yield ctx.fail(w, f"literal credential-like env var(s): {names}", container=found[0]["container"],
                           details=found)
        else:
            yield ctx.ok(w)


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=False).decode("utf-8", errors="ignore")
    except (binascii.Error, ValueError):
        return ""


@check("SEC-021")
def configmap_sensitive_data(ctx: CheckContext) -> Iterator[Result]:
    """Fail ConfigMaps whose keys or values look like credentials.

    Rule (docs/catalogue.md#sec-021): ``data``/``binaryData`` keys matching the sensitive name pattern (with a
    non-empty value, as in SEC-020) or values matching the private key / AWS key id / JWT / GitHub
    token patterns (``binaryData`` is base64-decoded first). Only key names and match kinds are
    reported, never values.
    """
    for cm in ctx.snapshot.of_kind("ConfigMap"):
        found: list[dict[str, Any]] = []
        for section in ("data", "binaryData"):
            entries = cm.raw.get(section) or {}
            if not isinstance(entries, dict):
                continue
            for key, value in entries.items():
                text = "" if value is None else str(value)
                if section == "binaryData":
                    text = _decoded(text)
                reasons = _credential_reasons(str(key), text)
                if reasons:
                    found.append({"section": section, "key": str(key), "matched": reasons})
        if found:
            keys = ", ".join(f["key"] for f in found)
            yield ctx.fail(cm, f"credential-like key(s): {keys}", details=found)
        else:
            yield ctx.ok(cm)
