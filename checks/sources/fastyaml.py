"""Parse a YAML document with rapidyaml when that provably gives PyYAML's answer.

PyYAML's C loader reads about 4-5 MB/s: 3-4 s for a 10,000-object dump, 40-50 s for 100,000.
rapidyaml parses and re-emits the same document as JSON about 10x faster, but it resolves plain
scalars the YAML 1.2 / JSON way, while Kubernetes (sigs.k8s.io/yaml) and PyYAML's SafeLoader use
YAML 1.1: ``yes``/``on``/``True`` are booleans, ``~``/``Null`` nulls, ``0777`` octal, ``1_000``
and ``12:30`` integers, ``2024-01-01`` dates; ``1e3`` and ``-.5`` are strings (a float needs a dot
and a digit before it). Quoted scalars are strings in both.

So a document takes the fast path only when none of its unquoted words could mean something else
in YAML 1.1 than what rapidyaml's JSON says: the only plain scalars allowed to be non-strings are
canonical decimal integers and decimals, ``true``, ``false`` and ``null``. The scan is
deliberately over-inclusive (it reads block scalars, comments and multi-line quoted strings as
if they were plain words): a false alarm costs speed, never a different value. Anything unusual
(tags, merge keys, directives, complex keys, escapes other than the common ones, a parse
error, JSON that does not load) also falls back to PyYAML, which then gives its own precise error.
The equivalence is tested on every corpus manifest and on tricky fixtures (tests/sources).

Hostile documents (checks.limits) step aside too, for PyYAML's guarded loader (guards.py) to
measure and refuse: aliases rapidyaml cannot be shown to expand boundedly (its ``resolve`` copies
every alias, and crashes on an alias inside its own anchor), anything deeper than its emitter
writes (65 levels), a key defined twice (rapidyaml keeps both, orjson the last: a colon goes
missing between the two renderings), a string that may be longer than ``limits.string_length``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from checks.sources.guards import alias_tokens
from checks.sources.measure import may_have_long_string

if TYPE_CHECKING:
    from checks.limits import Limits

try:  # optional: without it every document goes to PyYAML
    import orjson
    import ryml
except ImportError:  # pragma: no cover - both are dependencies; other platforms may lack wheels
    ryml = None

NOT_FAST = object()  # "parse this one with PyYAML"
# rapidyaml's emitter refuses to write anything nested deeper (its max_depth, 64 below the root):
# whatever it emits is at most this deep, so a depth limit at least this high needs no other check.
EMIT_DEPTH = 66

# A quoted scalar that closes on the same line. It is taken out before the scan only when it opens
# where a scalar can start (after ": ", a block-sequence dash at the start of a line, a flow
# indicator): then it is genuinely quoted and its words are not plain scalars. Anywhere else (a
# quote inside a plain scalar, "it's") its words are scanned as if plain.
_QUOTED = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'""")
# Block-sequence dashes from the start of a line up to a quoted scalar ("  - - ").
_DASHES = re.compile(r"""[ \t]*(?:-[ \t]+)+""")
_DELIMITERS = str.maketrans(dict.fromkeys(",[]{}\"'#", " "))
# Every plain scalar PyYAML's SafeLoader resolves to something other than a string.
_YAML11_NOT_STR = re.compile(
    r"""(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)"""
    r"""|(?:~|null|Null|NULL)"""
    r"""|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"""
    r"""|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"""
    r"""|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"""
    r"""|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"""
    r"""|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?.*"""  # dates and timestamps (a prefix is enough)
    r"""|<<|=|:"""  # merge and value keys; a lone ":" means a "key : value" the scan cannot pair
)
# Everything rapidyaml might emit as a JSON number or literal.
_JSONISH = re.compile(r"""[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9_]*)?|true|false|null""")
# Values both read the same way (as keys they differ: PyYAML's {12: x} is rapidyaml's {"12": x}).
_AGREE = re.compile(r"""-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|true|false|null""")
_BLOCK_HEADER = re.compile(r"""[|>](?:[-+]?[1-9]?|[1-9][-+])""")
# Tags, directives, reserved indicators and complex keys are left to PyYAML. Anchors and aliases
# are fine (rapidyaml resolves them); a merge key "<<" is not.
_SPECIAL_START = frozenset("!%@`?")
# Escapes both unescape alike; any other backslash sequence, or a tab in an indentation (an
# error for PyYAML), is left to PyYAML.
_ODD_ESCAPE = re.compile(r"""\\[^nt"\\/]""")
_TAB_INDENT = re.compile(r"""\n[ ]*\t""")  # past the first line (a "^" alternative is 10x slower)
_TAB_FIRST = re.compile(r"""[ ]*\t""")

_verdicts: dict[str, bool] = {}  # word -> suspicious; words repeat across documents and runs
# Object names make many words unique: past this many the memo starts over rather than grow with
# every dump a long-lived process (a worker) parses.
_MAX_VERDICTS = 200_000


def available() -> bool:
    return ryml is not None


def suspicious(text: str) -> bool:
    """True if some unquoted word of ``text`` might read differently in YAML 1.1 and in JSON."""
    # Two regexes, each led by a literal the engine finds in C: one multiline pattern whose "^"
    # alternative was tried at every offset took 40% of vetting a 17 MB dump (0.43 s of 1.1 s).
    if _ODD_ESCAPE.search(text) or ("\t" in text and (_TAB_FIRST.match(text) or _TAB_INDENT.search(text))):
        return True
    words = set(_unquoted(text).translate(_DELIMITERS).split())
    verdicts = _verdicts
    if len(verdicts) > _MAX_VERDICTS:
        verdicts.clear()
    for word in words:
        verdict = verdicts.get(word)
        if verdict is None:
            verdict = verdicts[word] = _suspicious_word(word)
        if verdict:
            return True
    return False


def _unquoted(text: str) -> str:
    parts: list[str] = []
    last = 0
    # Linear in the text: each stretch is searched for a newline once, and a scalar's lead is read
    # backwards from it (one-line JSON holds a whole cluster on its first line).
    line_start = scanned = 0
    for match in _QUOTED.finditer(text):
        start = match.start()
        newline = text.rfind("\n", scanned, start)
        if newline >= 0:
            line_start = newline + 1
        scanned = start
        if _leads(text, line_start, start):
            parts += (text[last:start], "Q")
            last = match.end()
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def _leads(text: str, line_start: int, start: int) -> bool:
    """Whether a scalar can start at ``start``: after ": ", after a flow indicator ("[", "{", ",")
    and blanks, or after block-sequence dashes alone on their line."""
    end = start
    while end > line_start and text[end - 1] in " \t":
        end -= 1
    if end == line_start:
        return False
    before = text[end - 1]
    if before in "[{,":
        return True
    if before == ":":
        return end < start
    dashes = _DASHES.match(text, line_start, start)
    return dashes is not None and dashes.end() == start


def _suspicious_word(word: str) -> bool:
    if word[0] in _SPECIAL_START:
        return True
    if word[0] in "|>":
        return _BLOCK_HEADER.fullmatch(word) is None
    if word.endswith(":") and len(word) > 1:  # a key: any non-string reading differs
        key = word[:-1]
        return bool(_YAML11_NOT_STR.fullmatch(key) or _JSONISH.fullmatch(key))
    readable = _YAML11_NOT_STR.fullmatch(word) or _JSONISH.fullmatch(word)
    return bool(readable) and _AGREE.fullmatch(word) is None


_stderr_lock = threading.RLock()  # re-entrant: quiet() may wrap load(quiet=True)


def _fresh_lock() -> None:
    # A process forked while another thread held the lock would otherwise wait for it forever.
    global _stderr_lock
    _stderr_lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """rapidyaml prints its parse errors to stderr before raising; PyYAML reports them properly."""
    with _stderr_lock:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """rapidyaml's error messages silenced for a whole batch of :func:`load` calls (``quiet=False``):
    redirecting stderr once per batch instead of once per document saves four syscalls each."""
    if ryml is None:
        yield
        return
    with _quiet_stderr():
        yield


def load(text: str, vetted: bool = False, limits: Limits | None = None, quiet: bool = True) -> Any:
    """The document's value, or :data:`NOT_FAST` when PyYAML must decide. ``vetted``: the caller
    has established that ``suspicious(text)`` is false (e.g. for a group of documents at once).
    ``limits``: a document that may exceed them is left to PyYAML's guarded loader. ``quiet``:
    False when the caller already silenced stderr (:func:`quiet`)."""
    if ryml is None or not text.strip() or (not vetted and suspicious(text)):
        return NOT_FAST
    aliases = alias_tokens(text) if "*" in text else 0
    if aliases and ("&" not in text or (limits is not None and aliases > limits.aliases) or not _flat_anchors(text)):
        return NOT_FAST  # an alias without an anchor, too many, or one that may nest or recurse
    try:
        with _quiet_stderr() if quiet else contextlib.nullcontext():
            tree = ryml.parse_in_arena(text.encode())
            if tree.is_stream(tree.root_id()):
                return NOT_FAST  # document markers: PyYAML splits the stream into its documents
            if aliases and not _expansion_bounded(tree.size(), aliases, limits):
                return NOT_FAST
            if "&" in text:
                tree.resolve()  # aliases become copies of their anchors, as PyYAML's values
                if limits is not None and tree.size() > limits.alias_nodes:
                    return NOT_FAST
            out = ryml.emit_json_malloc(tree, tree.root_id())  # raises past EMIT_DEPTH levels
        value = orjson.loads(out)
    except Exception:  # a parse error, an escape JSON does not take, a huge integer...
        return NOT_FAST
    if out.count(":") != orjson.dumps(value).count(b":"):
        return NOT_FAST  # a key defined twice: PyYAML's guarded loader names it and its line
    if limits is not None and len(text) > limits.string_length and may_have_long_string(out, limits.string_length):
        return NOT_FAST
    return value


def _expansion_bounded(nodes: int, aliases: int, limits: Limits | None) -> bool:
    """True if resolving cannot exceed ``limits.alias_nodes``. With no alias inside an anchored
    node (:func:`_flat_anchors`) each alias copies at most the whole unresolved tree."""
    return nodes * (1 + aliases) <= (limits.alias_nodes if limits is not None else 1_000_000)


@functools.lru_cache(maxsize=128)
def _block_end(indent: int, value: bool) -> re.Pattern[str]:
    # The next line that closes a block node begun at ``indent``: a less indented one, or (the
    # value of a key, ``value``) one as indented that is not a "- " entry, since a sequence may sit
    # at its key's indentation. Blank and comment lines never close it.
    fewer = rf"[ ]{{0,{indent - 1}}}[^ \n#]" if indent else ""
    same = rf"[ ]{{{indent}}}[^ \n#-]" if value else ""
    return re.compile(rf"\n(?:{'|'.join(p for p in (fewer, same) if p) or '(?!)'})")


_ENTRY_PREFIX = re.compile(r"[ ]*(?:[-?:][ ]+)+")  # "- ", "  - - ", "? ": indicators only
_VALUE_PREFIX = re.compile(r"[ ]*[^ !&*#\[\]{},|>][^!#\[\]{}]*:[ ]+")  # "key: " (no tag, no flow)


def _flat_anchors(text: str) -> bool:
    """True if no anchored node can contain an alias: then no alias recurses into its own anchor
    and none copies another alias, so resolving copies each anchored node once per alias.

    For every ``&`` (over-inclusive: ``a&b`` counts) the node it may anchor runs from it to the
    end of the block it opens; any ``*`` in that stretch, or a flow collection that may go on to
    the next line (indentation does not bound a flow collection's continuation lines), and the
    answer is no.
    """
    at = text.find("&")
    while at != -1:
        line_start = text.rfind("\n", 0, at) + 1
        # "- &x": the entry's content, a block at the anchor's column. "key: &x": a block under the
        # key, or a sequence at its indentation. Anything else ("&x" alone on its line, after a
        # tag...): a block that may start at the line's own indentation, and run on at it.
        value = False
        if _ENTRY_PREFIX.fullmatch(text, line_start, at):
            indent = at - line_start
        else:
            indent = _indent(text, line_start)
            value = _VALUE_PREFIX.fullmatch(text, line_start, at) is not None
        line_end = text.find("\n", at)
        if line_end == -1:
            stretch = text[at:]
        else:
            close = _block_end(indent, value).search(text, line_end)
            stretch = text[at : close.start() if close else len(text)]
        if "*" in stretch:
            return False
        flow = stretch.replace("[]", "").replace("{}", "")
        if ("[" in flow or "{" in flow) and not all(map(_closes_on_its_line, flow.split("\n"))):
            return False
        at = text.find("&", at + 1)
    return True


def _closes_on_its_line(line: str) -> bool:
    """True if every flow collection opened on ``line`` closes on it: its brackets balance, and
    no quote or comment could hide a bracket (or make one that is not)."""
    if "[" not in line and "{" not in line:
        return True
    if '"' in line or "'" in line or "#" in line:
        return False
    depth = 0
    for char in line:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _indent(text: str, line_start: int) -> int:
    end = line_start
    while end < len(text) and text[end] == " ":
        end += 1
    return end - line_start
