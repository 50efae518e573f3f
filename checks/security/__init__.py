"""Security checks (SEC-xxx): pod and container hardening, the host, identities, RBAC and exposure.

One topic module each: privileges, capabilities, host, isolation (kernel), service_accounts,
secrets, images, network, rbac, admission; helpers more than one of them use are in common.py
(resolving bindings, roles and policy types one way, indexes built once per run). Names,
severities, descriptions, remediations, peer ids and settings are in checks.yaml.
"""

from checks.registry import bind_package

# Imports every module of this package and registers each @check("ID") with its checks.yaml entry.
bind_package(__name__)
