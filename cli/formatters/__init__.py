"""Output formats. Each formatter turns a command's payload (plain dicts from storage.queries)
into text on a stream: ``table`` (Rich), ``json``/``yaml`` (the versioned envelope of
:mod:`cli.formatters.structured`), ``csv``, ``sarif`` (2.1.0) and ``junit`` (XML)."""

FORMATS = ("table", "json", "yaml", "csv", "sarif", "junit")
