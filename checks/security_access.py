"""Security pillar checks about identities, RBAC, networking and exposure (SEC-017 onwards)."""
