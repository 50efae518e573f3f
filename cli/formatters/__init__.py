"""Output formats. Each formatter turns a command's payload (plain dicts from storage.queries)
into text on a stream: ``table`` (Rich), ``json``/``yaml`` (the versioned envelope of
:mod:`cli.formatters.structured`), ``csv``, ``sarif`` (2.1.0) and ``junit`` (XML)."""

FORMATS = ("table", "json", "yaml", "csv", "sarif", "junit")
# A list of results also prints as one line per finding (cli/formatters/annotations.py): ``text``
# for editors and CI logs, ``github`` as GitHub Actions workflow commands.
ANNOTATION_FORMATS = ("text", "github")
# A whole run also prints as Kubernetes policy reports (cli/formatters/policyreport.py): wg-policy
# PolicyReport/ClusterPolicyReport or OpenReports Report/ClusterReport, as a YAML stream.
REPORT_FORMATS = ("policyreport", "openreports")
