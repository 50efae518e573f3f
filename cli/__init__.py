"""What kwa's commands print: formatters (table, json, yaml, csv, sarif, junit; docs/query.md),
the run report, the live progress table, log lines, history aggregation and plots.

The command tree (``kwa/``) calls these. Depends on :mod:`storage` only — never on checks'
execution or on flows — and never writes.
"""
