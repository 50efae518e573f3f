"""Performance-efficiency checks (PERF-xxx): requests and limits, autoscaling, capacity, scheduling.

The resource checks read the container set ``C*`` (regular containers plus restartable sidecar init
containers, docs/catalogue.md#conventions): run-to-completion init containers do not hold resources
while the pod serves, so they are not judged here. Quantities go through
:func:`checks.k8s.parse_quantity`; a value the API server would reject is an ``error`` result naming
the container and field. Metadata: checks.yaml.
"""

from checks.registry import bind_package

# Imports every module of this package and registers each @check("ID") with its checks.yaml entry.
bind_package(__name__)
