"""Text from untrusted input made safe to show: no control sequence reaches a terminal or a log.

Beside the credential masking of this package: both decide what text may leave kwa, and both sit
below every other package (the CLI's formatters and the flows' log lines use this one).

Object names, namespaces, container names, images and messages come from manifests and clusters
kwa does not trust. Printed as they are, a Pod named ``"\\x1b]0;…\\x07"`` would retitle the
reader's terminal, ``"\\x1b[2J"`` clear it, a carriage return overwrite the line it is on, and a
bidirectional override show a name reordered. Every such character is written as its escape
instead (``\\x1b``, ``\\u202e``), in every format meant to be read by a person or a log viewer.
Data formats keep the values as they are: JSON and YAML escape controls by their own rules.
"""

from __future__ import annotations

import re

# DEL, C1 controls, line and paragraph separators, bidirectional embeddings, overrides and isolates:
# the unsafe characters beyond C0 (a character class's contents; JSON encoders escape C0 themselves).
BEYOND_C0 = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# ... and the C0 controls.
UNSAFE = re.compile(f"[\x00-\x1f{BEYOND_C0}]")
_BREAKS = re.compile("[\r\n\t]")


def escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with every :data:`UNSAFE` character but those in ``keep`` written as its escape."""
    return UNSAFE.sub(lambda m: m.group() if m.group() in keep else escaped(m.group()), text)


def terminal_safe(text: str) -> str:
    """``text`` safe at a terminal: newlines and tabs kept, every other unsafe character escaped."""
    return escape_controls(text, "\n\t")


def shortened(text: str, keep: int = 120) -> str:
    """``text`` whole when short, else its first ``keep`` characters and its length (a path the
    system refused for its length is no use shown in full)."""
    return text if len(text) <= keep else f"{text[:keep]}… ({len(text):,} characters)"


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and tabs as spaces, other unsafe characters escaped."""
    return escape_controls(_BREAKS.sub(" ", text))
