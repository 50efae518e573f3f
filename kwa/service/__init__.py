"""kwa's run service over HTTP (``kwa serve``): a FastAPI application over kwa's database.

Modules: :mod:`~kwa.service.app` builds the application (limits, errors, routers),
:mod:`~kwa.service.auth` checks bearer tokens and scopes, :mod:`~kwa.service.runs` and
:mod:`~kwa.service.findings` read (the query CLI's storage functions and formatters),
:mod:`~kwa.service.control` requests and controls runs, :mod:`~kwa.service.handoff` hands them to
Prefect, :mod:`~kwa.service.problems` answers errors as RFC 9457 problem details,
:mod:`~kwa.service.schemas` is the OpenAPI contract. docs/api.md describes every endpoint.
"""
