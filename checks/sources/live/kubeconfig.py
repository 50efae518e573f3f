"""Which cluster, with which credentials: kubeconfig or the pod's service account.

TLS and authentication come from the official ``kubernetes`` client (``load_kube_config`` /
``load_incluster_config``); this module adds what the client does not do:

* **Credentials are registered for redaction before anything can quote them.** The selected
  context's user and cluster are read from the kubeconfig first (plain YAML, the client's merge
  rules: first definition of a name wins) and every credential in them goes to
  :func:`redaction.register`: ``token``, the contents of ``tokenFile``, ``username``/``password``
  (and the ``Basic`` header made from them), ``client-key-data`` (base64 and decoded) and the
  ``client-key`` file, ``client-certificate-data``, auth-provider tokens and secrets, exec plugin
  environment values named like secrets, userinfo in ``server`` and ``proxy-url``. Whatever token
  the client ends up sending (an exec plugin's, a refreshed one) is registered when it is set.
* **A token is one line.** Surrounding whitespace is stripped from the token before it is sent (a
  ``token: |`` block, or a token file written with ``echo``, ends in a newline; kubectl trims token
  files too). A token with a line break or another control character *inside* cannot be sent as an
  HTTP header: instead of the HTTP client's "Invalid header value b'Bearer …'", which quotes the
  token, loading fails with :class:`ClusterConfigError` naming the kubeconfig, the context and the
  user field, never the value. The client re-sets the token on every request (its refresh hook:
  exec plugins, rotated service-account tokens), so every request's header is cleaned and checked
  again (:func:`clean_header`) and registered.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redaction
from checks.sources.guards import Rejected, load_settings
from checks.sources.live.exec_plugins import client_errors, plugin_time, raise_if_plugin_failed
from checks.sources.live.resources import ClusterConfigError
from redaction.controls import one_line, shortened

MAX_CREDENTIAL_FILE = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SECRET_NAME = re.compile(r"token|secret|password|passwd|key", re.IGNORECASE)
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass
class Target:
    configuration: Any  # kubernetes.client.Configuration
    server: str  # base URL without credentials, for messages
    label: str  # for the snapshot description
    cluster_id: str
    origin: str = "the token"  # where the credential comes from, for messages about it


class BadCredential(Exception):
    """The credential in use cannot be sent; ``str()`` names where it came from, never the value."""


def default_kubeconfig_files() -> list[str]:
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in (os.path.expanduser(x) for x in env.split(os.pathsep) if x) if os.path.isfile(p)]
    default = os.path.expanduser("~/.kube/config")
    return [default] if os.path.isfile(default) else []


def in_cluster_env() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT"))


def safe_url(url: str) -> str:
    """Scheme, host, port and path of ``url``: never userinfo or a query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}" if parts.scheme else url.split("@")[-1]


def configure(kubeconfig: str | None, context: str | None, deadline: float | None = None) -> Target:
    """The cluster and credentials to use; ``deadline`` (``time.monotonic()``) also bounds an exec
    credential plugin run now (:func:`plugin_time`)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    if kubeconfig is not None:
        if not Path(kubeconfig).expanduser().is_file():
            raise ClusterConfigError(f"kubeconfig not found: {kubeconfig}")
        files = [str(Path(kubeconfig).expanduser())]
    else:
        files = default_kubeconfig_files()

    if files:
        path = os.pathsep.join(files)
        try:
            selected = _selected(files, context)
            _register_credentials(selected)
            name = context or selected.context or ""
            _refuse_as_kubectl(selected, path)
            with client_errors() as errors, plugin_time(deadline):
                config.load_kube_config(path, context=context, client_configuration=cfg, persist_config=False)
        except ConfigException as exc:
            raise ClusterConfigError(f"cannot use kubeconfig {path}: {redaction.redact(exc)}") from None
        except ClusterConfigError:
            raise
        except Rejected as exc:  # over a limit: the message names the limit and the place, no content
            raise ClusterConfigError(f"cannot read kubeconfig {path}: {exc.describe()}") from None
        except Exception as exc:
            # Only the type and position: a YAML error's text quotes the offending line, maybe a token.
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ClusterConfigError(f"cannot read kubeconfig {path}: {type(exc).__name__}{where}") from None
        where = f"kubeconfig {path}, context {name or '(current)'}"
        raise_if_plugin_failed(selected.user, selected.user_name, errors, cfg, where)
        origin = f"{where}: the token {selected.token_origin()}"
        guard_credentials(cfg, origin)
        server = safe_url(cfg.host)
        return Target(cfg, server, name or server, name or (urlsplit(cfg.host).hostname or server), origin)

    if context is not None:
        raise ClusterConfigError(f"context {context!r} requested but no kubeconfig found ($KUBECONFIG, ~/.kube/config)")
    if not in_cluster_env():
        raise ClusterConfigError("no cluster configured: no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a pod")
    try:
        config.load_incluster_config(client_configuration=cfg)
    except ConfigException as exc:
        raise ClusterConfigError(f"cannot use the in-cluster service account: {redaction.redact(exc)}") from None
    origin = "the in-cluster service account token"
    guard_credentials(cfg, origin)
    server = safe_url(cfg.host)
    return Target(cfg, server, f"{server} (in-cluster)", urlsplit(cfg.host).hostname or server, origin)


# ---- tokens: one line, registered, checked on every refresh -------------------------------------


def guard_credentials(cfg: Any, origin: str) -> None:
    """Check, strip and register the token the configuration holds now (refreshed tokens are checked
    by :func:`clean_header` on every request)."""
    for key in ("BearerToken", "authorization"):
        header = cfg.api_key.get(key)
        if isinstance(header, str) and header:
            try:
                cfg.api_key[key] = clean_header(header, origin)
            except BadCredential as exc:
                raise ClusterConfigError(str(exc)) from None


def clean_header(header: str, origin: str) -> str:
    """An Authorization value with its credential stripped of surrounding whitespace (and registered);
    :class:`BadCredential` when a control character is left inside."""
    scheme, sep, value = header.partition(" ")
    if not sep or scheme.lower() not in ("bearer", "basic"):
        scheme, value = "", header
    redaction.register(value)
    cleaned = value.strip()
    if _CONTROL.search(cleaned):
        what = "a line break" if ("\n" in cleaned or "\r" in cleaned) else "a control character"
        raise BadCredential(
            f"{origin} contains {what} inside the value, so it cannot be sent in an HTTP header "
            "(a token is a single line; surrounding whitespace and line breaks are ignored)"
        )
    return f"{scheme} {cleaned}" if scheme else cleaned


# ---- reading the selected context's credentials -------------------------------------------------


@dataclass
class Selected:
    context: str | None
    user_name: str | None
    user: dict[str, Any]
    user_file: str | None
    cluster: dict[str, Any]
    contexts: tuple[str, ...] = ()  # every context the files define
    cluster_name: str | None = None

    def token_origin(self) -> str:
        """Where the client takes the token from (its order: auth-provider, token, exec, basic)."""
        # No square brackets: messages are shown by Rich, which reads [x] as markup.
        user, name = self.user, self.user_name or "?"
        provider = user.get("auth-provider")
        if isinstance(provider, dict) and provider.get("name") in ("gcp", "oidc"):
            field = "access-token" if provider.get("name") == "gcp" else "id-token"
            return f"of user '{name}' (field auth-provider.config.{field})"
        if user.get("token"):
            return f"of user '{name}' (field token)"
        if user.get("tokenFile"):
            return f"of user '{name}' (read from its tokenFile {user['tokenFile']})"
        exec_ = user.get("exec")
        if isinstance(exec_, dict):
            return f"of user '{name}' (returned by its exec plugin {exec_.get('command', '?')})"
        return f"of user '{name}' (made from its username and password)"


def _selected(files: list[str], context: str | None) -> Selected:
    """The context, user and cluster the client will use, merged the way the client merges files."""
    merged: dict[str, dict[str, tuple[dict[str, Any], str]]] = {"clusters": {}, "contexts": {}, "users": {}}
    current = None
    for file in files:
        with open(file, encoding="utf-8") as handle:
            doc = load_settings(handle.read())
        if not isinstance(doc, dict):
            continue
        for section, entries in merged.items():
            for entry in doc.get(section) or []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    entries.setdefault(entry["name"], (entry, file))
        if doc.get("current-context"):
            current = str(doc["current-context"])
    name = context or current
    ctx = _inner(merged["contexts"].get(name or ""), "context")
    user_entry = merged["users"].get(str(ctx.get("user") or ""))
    return Selected(
        name,
        str(ctx.get("user")) if ctx.get("user") is not None else None,
        _inner(user_entry, "user"),
        user_entry[1] if user_entry else None,
        _inner(merged["clusters"].get(str(ctx.get("cluster") or "")), "cluster"),
        tuple(merged["contexts"]),
        str(ctx["cluster"]) if ctx.get("cluster") is not None else None,
    )


def _refuse_as_kubectl(selected: Selected, path: str) -> None:
    """What kubectl says before it sends anything: no context chosen, an unknown context, a cluster
    without a server URL (the client's own words are "Expected object with name  in … list" and,
    later, "No host specified")."""
    shown = ", ".join(one_line(shortened(c, 60)) for c in selected.contexts[:8])
    has = f"its contexts: {shown}{', …' if len(selected.contexts) > 8 else ''}" if shown else "it defines no context"
    if not selected.context:
        raise ClusterConfigError(f"kubeconfig {path} sets no current-context: pass --context ({has})")
    if selected.context not in selected.contexts:
        name = one_line(shortened(selected.context, 60))
        raise ClusterConfigError(f"context '{name}' is not in kubeconfig {path} ({has})")
    for owner, fields, field in (
        (f"user '{selected.user_name}'", selected.user, "client-certificate-data"),
        (f"user '{selected.user_name}'", selected.user, "client-key-data"),
        (f"cluster '{selected.cluster_name}'", selected.cluster, "certificate-authority-data"),
    ):
        value = fields.get(field)
        if value is None:
            continue
        try:
            base64.standard_b64decode(str(value))  # as the client decodes it
        except (binascii.Error, ValueError):
            raise ClusterConfigError(
                f"kubeconfig {path}, context {one_line(selected.context)}: {one_line(owner)}: {field} is not "
                "valid base64 (its value is not shown)"
            ) from None
    if selected.cluster_name is not None and selected.cluster and not str(selected.cluster.get("server") or "").strip():
        cluster = one_line(shortened(selected.cluster_name, 60))
        raise ClusterConfigError(
            f"kubeconfig {path}, context {one_line(selected.context)}: cluster '{cluster}' has no server URL"
        )


def _inner(entry: tuple[dict[str, Any], str] | None, key: str) -> dict[str, Any]:
    value = entry[0].get(key) if entry else None
    return value if isinstance(value, dict) else {}


def _register_credentials(selected: Selected) -> None:
    user, cluster = selected.user, selected.cluster
    base = Path(selected.user_file).parent if selected.user_file else Path.cwd()
    redaction.register(_text(user.get("token")), _text(user.get("password")))
    redaction.register_basic_auth(_text(user.get("username")), _text(user.get("password")))
    for field in ("client-key-data", "client-certificate-data"):
        data = _text(user.get(field))
        redaction.register(data, _b64decoded(data))
    for field in ("tokenFile", "client-key"):
        if user.get(field):
            redaction.register(_read_small(base / str(user[field])))
    provider = user.get("auth-provider")
    if isinstance(provider, dict) and isinstance(provider.get("config"), dict):
        for key, value in provider["config"].items():
            if _SECRET_NAME.search(str(key)):
                redaction.register(_text(value))
    exec_ = user.get("exec")
    if isinstance(exec_, dict):
        for item in exec_.get("env") or []:
            if isinstance(item, dict) and _SECRET_NAME.search(str(item.get("name") or "")):
                redaction.register(_text(item.get("value")))
    for field in ("server", "proxy-url"):
        redaction.register_url(_text(cluster.get(field)))


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _b64decoded(data: str | None) -> str | None:
    if not data:
        return None
    try:
        return base64.b64decode(data, validate=False).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def _read_small(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_CREDENTIAL_FILE:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
