"""Literal text on a console sized for where the output goes: what every table and report of kwa
prints through (cli/formatters/table.py, the run report, ``kwa checks list``, ``kwa fleet``).

Light on purpose (Rich only): ``kwa checks list`` imports this and nothing of storage.

* At a terminal, the terminal's width. Piped or redirected (``| grep``, ``> report.txt``, a CI
  log), no width limit: a table is drawn at its natural width, so no id, state or pillar name is
  ever cut or ellipsised and nothing depends on ``COLUMNS``. Rich leaves colour codes out when the
  stream is not a terminal (and honours ``NO_COLOR``).
* Stored text never goes through Rich's markup parser: :func:`lit`, :func:`styled` and
  :func:`line` build :class:`rich.text.Text` from plain strings and styles.
* Nor does it reach the terminal as control sequences: names, images and messages come from
  manifests and clusters kwa does not trust, and Rich passes ESC through (it strips only a few C0
  controls), so every string goes through :func:`redaction.controls.terminal_safe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from redaction.controls import terminal_safe

# Not a terminal: no width limit (a table is as wide as its widest row needs). Rich renders to
# at most this many columns; nothing kwa prints comes near it.
UNBOUNDED_WIDTH = 100_000
Part = str | Text | tuple[str, str]


def is_terminal(out: Any) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def console_for(out: TextIO) -> Console:
    """A console on ``out``: the terminal's width at a terminal, no width limit otherwise."""
    width = None if is_terminal(out) else UNBOUNDED_WIDTH
    return Console(file=out, highlight=False, width=width, emoji=False)


def lit(value: Any, style: str = "") -> Text:
    """Any value as literal text (``-`` for None): never parsed as markup, never a control sequence."""
    return Text("-" if value is None else terminal_safe(str(value)), style=style)


def styled(value: Any, styles: Mapping[str, str]) -> Text:
    return lit(value, styles.get(str(value), ""))


def line(*parts: Part) -> Text:
    """Plain strings, ``(text, style)`` pairs and Texts side by side: no markup anywhere, and no
    control sequence in the strings (Texts are built by :func:`lit`)."""
    return Text.assemble(*(_safe_part(p) for p in parts))


def _safe_part(part: Part) -> Part:
    if isinstance(part, str):
        return terminal_safe(part)
    if isinstance(part, tuple):
        return (terminal_safe(part[0]), part[1])
    return part
