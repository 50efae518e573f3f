"""Credential values kwa has read, and every form in which they can show up in text.

A value is rarely quoted the way it was read: an HTTP client's error shows the header as Python
bytes (``b'Bearer abc\\r\\n'``), a log record that embeds that message in JSON escapes the
backslashes again, a URL carries the value percent-encoded, a multi-line value (a PEM key, a
``token: |`` block with a stray line break) may be cut at any of its line breaks. So each
registered value is expanded once, when it is registered, into the set of its *forms*:

* the value as read, stripped of surrounding whitespace, and each of its lines (stripped);
* for each of those: Python ``repr`` (str and bytes) and ``unicode_escape`` escapes, JSON string
  escapes (ASCII-only and not), JSON escapes of the Python escapes (a repr inside a JSON string),
  and the percent-encoded forms (``quote`` with and without ``/`` safe, ``quote_plus``).

Forms shorter than :data:`MIN_LENGTH` characters are not registered: masking every ``abc`` in
every message would make messages unreadable and protect nothing (the shape rules in
:mod:`redaction.shapes` still catch such a value where it appears as ``token: abc``,
``Bearer abc`` or in a URL's userinfo).

Matching is a substring test per form, longest first (``str.__contains__`` is a C search: for 50
forms, ~3 µs on a log line and ~50 ms on 5 MB, where one compiled alternation took 5x longer);
only the forms found are replaced. Redaction reads the current tuple of forms without a lock.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import quote, quote_plus

MIN_LENGTH = 4
# A kubeconfig may carry a multi-megabyte value (an embedded CA bundle in the wrong field):
# its lines are still registered, the whole only up to this size.
MAX_WHOLE = 64 * 1024


def _escaped(text: str) -> set[str]:
    """``text`` as Python, bytes-repr, JSON and URL escaping would write it (without delimiters)."""
    forms = {text}
    py = repr(text)[1:-1]
    forms.add(py)
    forms.add(py.replace("'", "\\'"))
    forms.add(text.encode("unicode_escape").decode("ascii"))
    forms.add(repr(text.encode("utf-8", "surrogatepass"))[2:-1])
    forms.add(json.dumps(text)[1:-1])
    forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    for once in list(forms):
        forms.add(json.dumps(once)[1:-1])  # a repr quoted inside a JSON string: \\r\\n
    forms.update({quote(text, safe=""), quote(text), quote_plus(text)})
    return forms


def forms(value: str) -> set[str]:
    """Every form of ``value`` worth matching (see the module docstring)."""
    bases = {value.strip()}
    if len(value) <= MAX_WHOLE:
        bases.add(value)
    bases.update(line.strip() for line in value.splitlines())
    out: set[str] = set()
    for base in bases:
        if len(base) >= MIN_LENGTH:
            out.update(f for f in _escaped(base) if len(f) >= MIN_LENGTH)
    return out


class Registry:
    """The set of known credential forms and the pattern that matches any of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._forms: set[str] = set()
        self.ordered: tuple[str, ...] = ()  # longest first

    def add(self, value: str) -> bool:
        """Register ``value``; False when it is too short to be matched safely (or already known)."""
        if len(value.strip()) < MIN_LENGTH:
            return False
        with self._lock:
            if value in self._values:
                return False
            new = forms(value) - self._forms
            self._values.add(value)
            if not new:
                return False
            self._forms |= new
            self.ordered = tuple(sorted(self._forms, key=lambda f: (-len(f), f)))
        return True

    def mask(self, text: str, replacement: str) -> str:
        """``text`` with every known form replaced."""
        for form in self.ordered:
            if form in text:
                text = text.replace(form, replacement)
        return text

    def found_in(self, text: str) -> bool:
        return any(form in text for form in self.ordered)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._forms.clear()
            self.ordered = ()

    def __len__(self) -> int:
        return len(self._values)

    @property
    def form_count(self) -> int:
        return len(self._forms)
