"""The cluster's own ValidatingAdmissionPolicies, audited against the objects already running.

Admission never re-checks existing objects; kwa does: every bound policy of the snapshot becomes a
check ``VAP-<policy name>`` (:func:`checks.vap.source.checks_for`) that says which objects the
cluster would reject, or warn about, today. What is supported: docs/admission-policies.md.
"""
