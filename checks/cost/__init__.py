"""Cost checks (COST-xxx): unused and idle objects, namespace governance, cluster capacity.

The reference graph the unused-object checks read (what points at a ConfigMap, Secret or claim)
is built in unused.py. Metadata: checks.yaml.
"""

from checks.registry import bind_package

# Imports every module of this package and registers each @check("ID") with its checks.yaml entry.
bind_package(__name__)
