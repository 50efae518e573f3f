"""CEL check files: reading ``kind: Check`` documents from directories, files or text, and registering them.

A file holds one or more documents (``---``), each ``apiVersion: kwa.io/v1`` and ``kind: Check``,
or ``kind: CheckList`` / ``kind: List`` with the checks under ``items``. A directory's own
``*.yaml`` / ``*.yml`` files are read in name order; its subdirectories are not (test fixtures can
live next to the checks). Every check of every file is validated and
compiled before any is registered, so a bad file registers nothing and its error names the file,
the document, the check, the field and, for an expression, the position.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from checks import dynamic
from checks.cel.evaluate import run_check
from checks.cel.spec import API_VERSION, CHECK_KIND, CheckFileError, CheckSpec, parse_check
from checks.context import CheckContext
from checks.metadata import CheckRegistrationError
from checks.model import CheckDefinition, Mode, Result
from checks.sources.guards import Rejected, check_settings

ORIGIN = "cel"
LIST_KINDS = ("CheckList", "List")
SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 4 * 1024 * 1024


def read_text(text: str, where: str) -> list[CheckSpec]:
    """Every check in ``text`` (a file's or a ConfigMap value's content), validated and compiled.

    A check file is input like any manifest (a ConfigMap of checks comes from the cluster): it is
    held to the manifests' default limits on nesting and aliases before anything is built."""
    try:
        check_settings(text)
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        docs = list(yaml.safe_load_all(text))
    except Rejected as exc:
        raise CheckFileError(f"{where}: {exc.describe()}") from None
    except yaml.YAMLError as exc:
        raise CheckFileError(f"{where}: not valid YAML: {exc}") from None
    nodes = [n for n in nodes if n is not None]
    docs_with_nodes = [d for d in docs if d is not None]
    out: list[CheckSpec] = []
    for index, doc in enumerate(docs_with_nodes, start=1):
        node = nodes[index - 1] if index - 1 < len(nodes) else None
        at = f"{where}: document {index}" if len(docs_with_nodes) > 1 else where
        if not isinstance(doc, dict):
            raise CheckFileError(f"{at}: expected a mapping (apiVersion: {API_VERSION}, kind: {CHECK_KIND})")
        kind = doc.get("kind")
        if kind in LIST_KINDS and isinstance(doc.get("items"), list):
            item_nodes = _items_node(node)
            for i, item in enumerate(doc["items"]):
                if not isinstance(item, dict) or item.get("kind") != CHECK_KIND:
                    raise CheckFileError(f"{at}: items[{i}]: expected a kind: {CHECK_KIND}")
                item_node = item_nodes[i] if item_nodes and i < len(item_nodes) else None
                out.append(parse_check(item, f"{at}: items[{i}]", item_node))
            continue
        if kind != CHECK_KIND or doc.get("apiVersion") != API_VERSION:
            raise CheckFileError(
                f"{at}: not a check (apiVersion {doc.get('apiVersion')!r}, kind {kind!r}); "
                f"expected apiVersion: {API_VERSION}, kind: {CHECK_KIND} (or {' / '.join(LIST_KINDS)} with items)"
            )
        out.append(parse_check(doc, at, node))
    return out


def _items_node(node: Any) -> list[Any] | None:
    for key, value in getattr(node, "value", None) or []:
        if getattr(key, "value", None) == "items":
            return value.value if isinstance(value.value, list) else None
    return None


def check_files(paths: Iterable[str | Path]) -> list[Path]:
    """The check files in ``paths`` (a directory's own YAML files, or files named directly)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not found:
                raise CheckFileError(f"{raw}: no check files (*.yaml, *.yml) in this directory")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise CheckFileError(f"{raw}: no such checks directory or file")
    return out


def read_paths(paths: Iterable[str | Path]) -> list[CheckSpec]:
    specs: list[CheckSpec] = []
    for path in check_files(paths):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CheckFileError(f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MiB; not a check file")
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CheckFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CheckFileError(f"{path}: not UTF-8 text") from None
        specs.extend(read_text(text, str(path)))
    return specs


def definition(spec: CheckSpec, origin: str) -> CheckDefinition:
    """The registry's definition of a CEL check: its metadata and a function evaluating it."""

    def evaluate_cel(ctx: CheckContext) -> Iterable[Result]:
        return run_check(spec, ctx)

    evaluate_cel.__qualname__ = f"cel[{spec.id}]"
    evaluate_cel.cel_spec = spec  # type: ignore[attr-defined]  # what `kwa checks show` prints
    return CheckDefinition(
        id=spec.id,
        pillar=spec.pillar,
        name=spec.name,
        severity=spec.severity,
        description=spec.description,
        remediation=spec.remediation,
        mode=Mode.MANIFEST,
        func=evaluate_cel,
        requires=spec.match.kinds,
        docs_url=spec.docs_url or "docs/custom-checks.md",
        timeout=spec.timeout,
        opt_in=spec.opt_in,
        origin=origin,
    )


def register_specs(specs: list[CheckSpec], origin_of: Any, registry: Any = None) -> list[CheckDefinition]:
    """Register ``specs`` (all of them or, on a problem, none); ``origin_of(spec)`` names each one's place."""
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.id in seen:
            raise CheckFileError(f"check {spec.id} is declared twice: {seen[spec.id]} and {spec.where}")
        seen[spec.id] = spec.where
    from checks.registry import REGISTRY

    target = registry if registry is not None else REGISTRY
    done: list[CheckDefinition] = []
    try:
        for spec in specs:
            done.append(dynamic.register(definition(spec, origin_of(spec)), target))
    except CheckRegistrationError as exc:
        for d in done:
            target.unregister(d.id)
        raise CheckFileError(f"{_file_of(spec)}: {exc}") from None
    return done


def _file_of(spec: CheckSpec) -> str:
    return spec.where.partition(": ")[0]


def load_paths(paths: Iterable[str | Path], registry: Any = None) -> list[CheckDefinition]:
    """Read, compile and register the CEL checks under ``paths`` (``--checks-dir``, ``checks_dirs``)."""
    specs = read_paths(paths)
    # The origin is the file's absolute path: the same file named two ways (the CLI's relative
    # --checks-dir, then the run's stored absolute one) is one check, not a collision.
    return register_specs(specs, lambda s: f"{ORIGIN}:{Path(_file_of(s)).resolve()}", registry)
