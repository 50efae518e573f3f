"""kwa's presentation layer: read-only commands over what runs persisted.

``kwa query assessments list|summary|history|get|diff`` and ``kwa runs list|get`` (also
``python -m cli …``). Depends on :mod:`storage` only — never on checks' execution or on flows —
and never writes. Formats: table (Rich), json, yaml, csv, sarif, junit (see docs/query.md).
"""
