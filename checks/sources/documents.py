"""What one parsed manifest document becomes: Kubernetes objects, or problems naming where it was.

Kept apart from :mod:`checks.sources.manifests`, which finds and reads the inputs and drives the
parsers: this module holds the rules every document is held to whichever way it was parsed (JSON,
the YAML fast path, PyYAML, a forked worker) — the size limits checked before and after parsing,
how a syntax error is reported, how a ``kind: List`` is unpacked and what an object must have to be
assessed — so that each parser path applies them the same way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from checks.limits import LIMIT, NOT_AN_OBJECT, SYNTAX, InputProblem, Limits, Problems, ReadStats, size
from checks.positions import Place
from checks.snapshot import K8sObject, ParseProblem
from checks.sources import measure
from checks.sources.guards import Rejected
from checks.sources.places import Lines, item_places
from checks.sources.share import share
from checks.sources.slim import slim


def document_bytes(text: str | bytes, limits: Limits) -> int | None:
    """The size of a document in bytes when it may be over ``limits.document_bytes``, else None."""
    if isinstance(text, bytes):
        return len(text) if len(text) > limits.document_bytes else None
    if len(text) * 4 <= limits.document_bytes:
        return None
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))


def _maybe_list(text: str | bytes) -> bool:
    """Whether ``text`` may be a ``kind: List`` (kubectl's dump): it has an ``items`` key. Plain
    searches, not a regex: the text is over ``limits.document_bytes`` when this is asked."""
    if isinstance(text, bytes):
        return b'"items"' in text or text.startswith(b"items:") or b"\nitems:" in text
    return '"items"' in text or text.startswith("items:") or "\nitems:" in text


def check_unparsed(text: str | bytes, nbytes: int | None, limits: Limits) -> None:
    """Refuse, before parsing, a document over ``limits.document_bytes`` that cannot be a List."""
    if nbytes is not None and nbytes > limits.document_bytes and not _maybe_list(text):
        raise Rejected(LIMIT, f"a document of {size(nbytes)}, over limits.document_bytes "
                              f"({size(limits.document_bytes)}); not parsed")


def check_document(
    value: Any, nbytes: int | None, limits: Limits, json_text: str | bytes | None = None, depth_known: bool = False
) -> None:
    """Raise Rejected when a parsed document is over its limits; a List item that is over them by
    itself is replaced by its Rejected, so that only it is skipped (:func:`accept`)."""
    for number, problem in measure.check_document(value, limits, nbytes, json_text, depth_known).items():
        value["items"][number] = problem


# "{{ .Values.x }}" or "{{- if" on a line: Go template actions a Helm chart's templates hold until
# `helm template` renders them; YAML reads them as (unhashable) flow mappings, or as nothing at all.
_TEMPLATE_ACTION = re.compile(r"\{\{-?\s*[-.$/\w(\"]")


def syntax_error(exc: yaml.YAMLError, text: str | None = None) -> Rejected:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if text is not None and _TEMPLATE_ACTION.search(text):
        problem += " (the document holds {{ … }} template actions: render a Helm chart with `helm template` first)"
    if mark is None:
        return Rejected(SYNTAX, f"YAML does not parse: {problem}")
    return Rejected(SYNTAX, f"YAML does not parse: {problem}", mark.line, mark.column)


def report(problems: list[ParseProblem], kind: str, source: str, index: int | None, message: str) -> None:
    problems.append(InputProblem(source, index, message, kind))


def read_stats(problems: list[ParseProblem]) -> ReadStats:
    """What was read, counted beside the problems (a throwaway count for a plain list)."""
    return problems.stats if isinstance(problems, Problems) else ReadStats()


def accept(
    doc: Any,
    label: str,
    index: int,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    place: Place | None = None,
    lines: Lines | None = None,
) -> None:
    if doc is None:
        return
    if not isinstance(doc, dict):
        report(problems, NOT_AN_OBJECT, label, index, f"not a Kubernetes object (a {type(doc).__name__})")
        return
    kind, items = doc.get("kind"), doc.get("items")
    # What a cut kubectl dump looks like (apiVersion first, then objects): any other file with an
    # items key stays "not a Kubernetes object".
    cut = (
        kind is None and "apiVersion" in doc and isinstance(items, list) and bool(items)
        and isinstance(items[0], dict) and "kind" in items[0]
    )  # fmt: skip
    if cut:
        _report_cut(len(items) - 1, label, index, problems)  # type: ignore[arg-type]
        kind = "List"
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        places = item_places(place, len(items), lines) if place is not None and lines is not None else None
        for item_no, item in enumerate(items[:-1] if cut else items):
            # Without a place of its own, an item keeps the List's lines: coarse, never wrong.
            item_place = places[item_no] if places else place
            accept_item(kind, doc.get("apiVersion"), item, item_no, label, index, objects, problems, item_place)
        return
    _accept_object(doc, label, index, objects, problems, place)


def _report_cut(last: int, label: str, index: int, problems: list[ParseProblem]) -> None:
    """A document with items and no kind: ``kubectl get -o yaml`` (or json) cut short, since it
    writes ``kind`` after the items. It is read as the List it was, without its last item, which
    may have lost later fields (a namespace, a security context) to the cut and be judged wrongly."""
    report(problems, SYNTAX, label, index,
           f"no kind after its items: read as a List that ends early (kubectl writes kind last); "
           f"its last item, items[{last}], is not read, as the cut may have shortened it")  # fmt: skip


def accept_item(
    list_kind: str,
    list_api_version: Any,
    item: Any,
    item_no: int,
    label: str,
    index: int,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    place: Place | None,
) -> None:
    """One item of a ``kind: List`` document (``index``): an object, or a problem naming ``items[N]``."""
    if isinstance(item, Rejected):  # over a limit by itself (check_document)
        report(problems, item.kind, label, index, f"items[{item_no}]: {item.describe()}")
        return
    if not isinstance(item, dict):
        report(problems, NOT_AN_OBJECT, label, index, f"items[{item_no}] is not an object")
        return
    item.setdefault("kind", list_kind[: -len("List")] if list_kind != "List" else item.get("kind"))
    if "apiVersion" not in item and list_api_version and list_kind != "List":
        item["apiVersion"] = list_api_version
    _accept_object(item, f"{label}#{index}", item_no, objects, problems, place)


def _accept_object(
    doc: dict[str, Any],
    label: str,
    index: int,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    place: Place | None = None,
) -> None:
    # The common case (every object of a large dump) without building the list of what is missing.
    api_version, kind, meta = doc.get("apiVersion"), doc.get("kind"), doc.get("metadata")
    if (
        api_version
        and kind
        and isinstance(api_version, str)
        and isinstance(kind, str)
        and isinstance(meta, dict)
        and (meta.get("name") or meta.get("generateName"))
    ):
        objects.append(K8sObject(share(slim(doc)), label, index, place))
        return
    missing = [k for k in ("apiVersion", "kind") if not isinstance(doc.get(k), str) or not doc.get(k)]
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        missing.append("metadata.name")
    if missing:
        report(problems, NOT_AN_OBJECT, label, index, f"not a Kubernetes object: missing {', '.join(missing)}")
        return
    objects.append(K8sObject(share(slim(doc)), label, index, place))
