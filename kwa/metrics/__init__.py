"""``kwa metrics``: kwa's stored results as Prometheus metrics (docs/metrics.md).

:mod:`kwa.metrics.collector` turns what storage returns into ``kwa_*`` gauges;
:mod:`kwa.metrics.export` serves them over HTTP, writes them to a textfile or pushes them to a
Pushgateway.
"""
