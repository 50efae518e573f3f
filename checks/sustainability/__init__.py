"""Sustainability checks (SUS-xxx): node packing and capacity, workloads sized to demand, traffic.

Where the catalogue gives an ``info`` outcome: SUS-007 and SUS-008 have severity ``info`` and no
other finding, so their ``info`` is a ``warning`` row (severity info weighs 0 in scores). SUS-006
has a real ``warning`` and a weaker ``info``; there the ``info`` is a ``passing`` row whose message
carries the note, so it never lowers a score. Metadata: checks.yaml.
"""

from checks.registry import bind_package

# Imports every module of this package and registers each @check("ID") with its checks.yaml entry.
bind_package(__name__)
