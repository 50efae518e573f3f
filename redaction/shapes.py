"""Text that looks like a credential, whether or not kwa ever saw its value.

Each rule masks the secret part and keeps what says what it was (``Bearer ***``,
``https://***@host``, ``token: ***``), so a message stays useful. A rule runs only when one of its
trigger words occurs in the lower-cased text, so ordinary messages cost a few substring tests.

Values stop at whitespace, quotes, separators and at a backslash that escapes a quote: a masked
value inside a JSON document (a log batch, a state message) never swallows the string's closing
quote, so the document stays valid JSON. Python and JSON escapes inside a value (``abc\\r\\ndef``,
the form an HTTP client's "Invalid header value" error takes) are part of the value and masked
with it.

Deliberately not masked: a bare ``secret:`` (``Secret: forbidden: core/secrets`` is how kwa names
a resource it could not list), camelCase keys (``automountServiceAccountToken: false`` is a
finding, not a credential) and ``tokenFile:`` paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "***"

# One value: no whitespace, quotes or separators; a backslash only when it does not escape a quote.
_VALUE = r"""(?:[^\s"'\\,;&}\]>)]|\\[^"'\s])+"""
_QUOTE = r"""(?:\\?["'])?"""
_KEY = (
    r"(?:[a-z0-9]+[_-])*(?:token|password|passwd|api[_-]?key|client[_-]key[_-]data|private[_-]key"
    r"|auth[_-]string|secret[_-]?(?:access[_-])?key)"
    r"|(?:[a-z0-9]+[_-])+secret"
)

_PEM = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_AUTHORIZATION = re.compile(
    r"""(\b(?:proxy-)?authorization""" + _QUOTE + r"""\s*[:=]\s*""" + _QUOTE + r""")((?:[^\r\n"'\\]|\\[^"'rn])+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer)(\s+|%20|\+)(" + _VALUE + ")", re.IGNORECASE)
_BASIC = re.compile(r"\b(basic)(\s+|%20)([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE)
_USERINFO = re.compile(r"""\b([a-z][a-z0-9+.\-]*:(?://|\\/\\/))([^\s/?#@"'<>\\]+)@""", re.IGNORECASE)
_FIELD = re.compile(
    r"(?<![a-z0-9])(" + _KEY + r")(" + _QUOTE + r"\s*[:=]\s*" + _QUOTE + r")(" + _VALUE + ")",
    re.IGNORECASE,
)
# Long base64 runs: key material quoted without its field name (client-key-data is ~300+ chars).
_KEY_DATA = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{200,}+={0,2}")
_BASE64_LOOK = re.compile(r"[0-9+/=]|[a-z][A-Z]")


def _bearer(match: re.Match[str]) -> str:
    # "the bearer token was rejected" is prose: a credential has a digit or symbol, or is long.
    value = match.group(3)
    if len(value) >= 16 or not value.isalpha():
        return f"{match.group(1)}{match.group(2)}{MASK}"
    return match.group(0)


def _basic(match: re.Match[str]) -> str:
    # "Basic authentication" is prose; "Basic dXNlcjpwYXNz" is a credential.
    if _BASE64_LOOK.search(match.group(3)):
        return f"{match.group(1)}{match.group(2)}{MASK}"
    return match.group(0)


Rule = tuple[tuple[str, ...], re.Pattern[str], str | Callable[[re.Match[str]], str]]

RULES: list[Rule] = [
    (("private key",), _PEM, rf"-----BEGIN \1PRIVATE KEY-----{MASK}-----END \1PRIVATE KEY-----"),
    (("authorization",), _AUTHORIZATION, rf"\1{MASK}"),
    (("bearer",), _BEARER, _bearer),
    (("basic",), _BASIC, _basic),
    (("@",), _USERINFO, rf"\1{MASK}@"),
    (("token", "passw", "key", "secret", "auth_string", "auth-string"), _FIELD, rf"\1\2{MASK}"),
]


# Every rule's trigger words, tested first: most texts contain none of them.
_TRIGGERS = tuple(dict.fromkeys(t for triggers, _, _ in RULES for t in triggers))
# bytes.translate maps base64 characters to 1 and everything else to 0: a long run of 1s is the
# only way _KEY_DATA can match, and finding one is a C-speed substring search.
_B64_TABLE = bytes(1 if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/") else 0 for i in range(256))
_B64_RUN = b"\x01" * 200


def _has_key_data(text: str) -> bool:
    return _B64_RUN in text.encode("utf-8", "surrogatepass").translate(_B64_TABLE)


def mask(text: str) -> str:
    """``text`` with every credential-shaped part masked."""
    lowered = text.lower()
    for trigger in _TRIGGERS:
        if trigger in lowered:
            for triggers, pattern, replacement in RULES:
                if any(t in lowered for t in triggers):
                    text = pattern.sub(replacement, text)
            break
    if len(text) >= 200 and _has_key_data(text):
        text = _KEY_DATA.sub(MASK, text)
    return text


def suspicious(text: str) -> bool:
    """Whether :func:`mask` could change ``text`` (a cheap pre-test for large documents)."""
    lowered = text.lower()
    return any(t in lowered for t in _TRIGGERS) or (len(text) >= 200 and _has_key_data(text))
