"""Operational-excellence checks (OPS-xxx): namespaces, hygiene, versions, dangling policy, observability.

Metadata: checks.yaml.
"""

from checks.registry import bind_package

# Imports every module of this package and registers each @check("ID") with its checks.yaml entry.
bind_package(__name__)
