"""Text that looks like a credential, whether or not kwa ever saw its value.

Each rule masks the secret part and keeps what says what it was (``Bearer ***``,
``https://***@host``, ``token: ***``, ``kwa_<id>_***``), so a message stays useful.

Values stop at whitespace, quotes, separators and at a backslash that escapes a quote: a masked
value inside a JSON document (a log batch, a state message) never swallows the string's closing
quote, so the document stays valid JSON. Python and JSON escapes inside a value (``abc\\r\\ndef``,
the form an HTTP client's "Invalid header value" error takes) are part of the value and masked
with it.

Deliberately not masked: a bare ``secret:`` (``Secret: forbidden: core/secrets`` is how kwa names
a resource it could not list), camelCase keys (``automountServiceAccountToken: false`` is a
finding, not a credential), ``tokenFile:`` paths, and prose (``the bearer token was rejected``,
``basic authentication``).

Speed: a rule never scans the text with a regular expression. Each has literal anchors (``bearer``,
``://``, ``token``…) found with ``str.find`` on the lower-cased text (a C search), and its pattern
is only tried *at* an anchor (``Pattern.match(text, pos)``). Most texts contain no anchor at all;
a 24 MB JSON export of a 10k-object run's results is masked in well under a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MASK = "***"

# One value: no whitespace, quotes or separators; a backslash only when it does not escape a quote.
_VALUE = r"""(?:[^\s"'\\,;&}\]>)]|\\[^"'\s])+"""
_QUOTE = r"""(?:\\?["'])?"""
_KEYS = (
    r"token|passwd|password|api[_-]?key|client[_-]key[_-]data|private[_-]key|auth[_-]string"
    r"|secret(?:[_-]?(?:access[_-])?key)?"
)
_FIELD_ANCHORS = ("token", "passw", "apikey", "api_key", "api-key", "client-key-data", "client_key_data",
                  "private_key", "private-key", "auth_string", "auth-string", "secret")  # fmt: skip
_BASE64_LOOK = re.compile(r"[0-9+/=]|[a-z][A-Z]")


@dataclass(frozen=True)
class Rule:
    anchors: tuple[str, ...]  # lower-case literals; the pattern is tried where one starts
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str | None]  # None: leave the match as it is
    word_start: bool = True  # the anchor must not continue a word (``AccountToken`` is not ``token``)


def _prose_or(mask_from: int) -> Callable[[re.Match[str]], str | None]:
    def replace(match: re.Match[str]) -> str | None:
        value = match.group(3)
        # "the bearer token was rejected" is prose: a credential has a digit or symbol, or is long.
        if len(value) >= 16 or not value.isalpha():
            return match.group(0)[: match.start(mask_from) - match.start()] + MASK
        return None

    return replace


def _basic(match: re.Match[str]) -> str | None:
    # "Basic authentication" is prose; "Basic dXNlcjpwYXNz" is a credential.
    if _BASE64_LOOK.search(match.group(3)):
        return f"{match.group(1)}{match.group(2)}{MASK}"
    return None


def _field(match: re.Match[str]) -> str | None:
    key = match.group(1).lower()
    before = match.string[match.start() - 1 : match.start()]
    if key == "secret" and before not in ("_", "-"):
        return None  # "Secret: forbidden: …" names a kind; "client_secret: x" is one
    return f"{match.group(1)}{match.group(2)}{MASK}"


def _keep_groups_then_mask(*groups: int) -> Callable[[re.Match[str]], str]:
    return lambda match: "".join(match.group(g) for g in groups) + MASK


RULES: tuple[Rule, ...] = (
    Rule(
        ("-----begin ",),
        re.compile(r"(-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----).*?(?:-----END \2PRIVATE KEY-----|\Z)", re.DOTALL),
        lambda m: f"{m.group(1)}{MASK}-----END {m.group(2)}PRIVATE KEY-----",
        word_start=False,
    ),
    Rule(
        ("authorization",),
        re.compile(
            r"(authorization" + _QUOTE + r"\s*[:=]\s*" + _QUOTE + r")((?:[^\r\n\"'\\]|\\[^\"'rn])+)", re.IGNORECASE
        ),
        _keep_groups_then_mask(1),
    ),
    Rule(("bearer",), re.compile(r"(bearer)(\s+|%20|\+)(" + _VALUE + ")", re.IGNORECASE), _prose_or(3)),
    Rule(("basic",), re.compile(r"(basic)(\s+|%20)([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE), _basic),
    Rule(
        ("://", ":\\/\\/"),
        re.compile(r"(:(?://|\\/\\/))([^\s/?#@\"'<>\\]+)@"),
        lambda m: f"{m.group(1)}{MASK}@" if m.string[m.start() - 1 : m.start()].isalnum() else None,  # a scheme
        word_start=False,
    ),
    # kwa's own API tokens (storage.tokens: ``kwa_<12 hex id>_<43 base64url>``), wherever they
    # appear: the public id stays readable, the secret part goes.
    Rule(("kwa_",), re.compile(r"(kwa_[0-9a-f]{12}_)[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"), _keep_groups_then_mask(1)),
    Rule(
        _FIELD_ANCHORS,
        re.compile(r"(" + _KEYS + r")(" + _QUOTE + r"\s*[:=]\s*" + _QUOTE + r")(" + _VALUE + ")", re.IGNORECASE),
        _field,
    ),
)
_ANCHORS = tuple(dict.fromkeys(a for rule in RULES for a in rule.anchors))
# Long base64 runs: key material quoted without its field name (client-key-data is ~300+ chars).
_KEY_DATA = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{200,}+={0,2}")
# bytes.translate maps base64 characters to 1 and everything else to 0: a long run of 1s is the
# only way _KEY_DATA can match, and finding one is a C-speed substring search.
_B64_TABLE = bytes(1 if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/") else 0 for i in range(256))
_B64_RUN = b"\x01" * 200


def _has_key_data(text: str) -> bool:
    return _B64_RUN in text.encode("utf-8", "surrogatepass").translate(_B64_TABLE)


def _edits(text: str, lowered: str, present: set[str]) -> list[tuple[int, int, str]]:
    edits = []
    for rule in RULES:
        for anchor in rule.anchors:
            if anchor not in present:
                continue
            pos = lowered.find(anchor)
            while pos != -1:
                end = pos + 1
                if not (rule.word_start and pos and lowered[pos - 1].isalnum()):
                    match = rule.pattern.match(text, pos)
                    if match is not None:
                        replacement = rule.replace(match)
                        if replacement is not None:
                            edits.append((match.start(), match.end(), replacement))
                            end = max(end, match.end())
                pos = lowered.find(anchor, end)
    return edits


def mask(text: str) -> str:
    """``text`` with every credential-shaped part masked."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer: positions would shift
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    present = {anchor for anchor in _ANCHORS if anchor in lowered}
    if present:
        edits = _edits(text, lowered, present)
        if edits:
            edits.sort(key=lambda e: (e[0], -e[1]))
            parts, at = [], 0
            for start, end, replacement in edits:
                if start < at:  # inside an edit already made (Bearer inside an Authorization header)
                    continue
                parts += [text[at:start], replacement]
                at = end
            parts.append(text[at:])
            text = "".join(parts)
    if len(text) >= 200 and _has_key_data(text):
        text = _KEY_DATA.sub(MASK, text)
    return text


def suspicious(text: str) -> bool:
    """Whether :func:`mask` could change ``text`` (a cheap pre-test for large documents)."""
    lowered = text.lower()
    return any(a in lowered for a in _ANCHORS) or (len(text) >= 200 and _has_key_data(text))
