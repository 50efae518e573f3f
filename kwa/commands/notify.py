"""``kwa notify add|list|remove``: Prefect automations that notify on kwa's run events.

The work is in :mod:`flows.notifications` (a block and an automation on the Prefect server);
this module parses options, finds the Prefect API and says what happened. The webhook URL is a
credential: it is never printed, and ``-`` reads it from stdin so it stays out of shell history
and the process list.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from kwa.commands.common import CONTEXT, GROUP_SETTINGS
from kwa.errors import guarded
from kwa.exit_codes import ExitCode
from kwa.values import choice_option

app = typer.Typer(
    help="Notifications on run events (kwa.run.finished, kwa.run.regressed), as Prefect automations.",
    **GROUP_SETTINGS,
)


class _Unavailable(Exception):
    """The Prefect API cannot be used (already said on stderr)."""


def _connect(start: bool) -> None:
    """A Prefect API that answers, or :class:`_Unavailable` (exit 4, as for kwa's other server errors)."""
    from flows.prefect_link import bound_requests, healthy
    from flows.server import PrefectServerError, ensure_api

    bound_requests()
    try:
        info = ensure_api(start=start)
    except PrefectServerError as exc:
        print(f"error: no Prefect API: {exc}", file=sys.stderr)
        raise _Unavailable() from None
    if not info.url or not healthy(info.url, timeout=3.0):
        where = info.url or "an ephemeral Prefect API (KWA_PREFECT=ephemeral keeps no automations)"
        print(f"error: the Prefect API at {where} is not answering; nothing was changed", file=sys.stderr)
        raise _Unavailable()


def _run(body: Callable[[], int], start: bool = False, check: Callable[[], object] | None = None) -> int:
    """``body()`` against a Prefect API that answers; ``check()`` first, so a bad value is a usage
    error (exit 2) whether or not the server is up."""

    def wrapped() -> int:
        from cli.errors import UsageError
        from flows.notifications import NotifyError

        try:
            if check is not None:
                check()
            _connect(start)
            return int(body())
        except _Unavailable:
            return ExitCode.FAILED
        except NotifyError as exc:
            raise UsageError(str(exc)) from None
        except Exception as exc:
            from httpx import HTTPError
            from prefect.exceptions import PrefectHTTPStatusError

            if isinstance(exc, (HTTPError, PrefectHTTPStatusError, OSError)):
                from redaction import redact

                print(f"error: the Prefect API failed: {redact(exc)}", file=sys.stderr)
                return ExitCode.FAILED
            raise

    return guarded(wrapped)


def _url(value: str) -> str:
    return sys.stdin.readline().strip() if value == "-" else value


@app.command(context_settings=CONTEXT)
def add(
    slack_webhook: Annotated[
        str | None, typer.Option("--slack-webhook", metavar="URL", help="a Slack incoming webhook URL ('-': stdin)")
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", metavar="URL", help="any URL to POST a JSON message to ('-': stdin)")
    ] = None,
    on: Annotated[
        str, choice_option("--on", choices=("finished", "regressed"), help="the event: finished or regressed")
    ] = "regressed",
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="only this cluster's runs (default: every cluster)")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="the notification's name (default: <on>-<cluster>)")
    ] = None,
) -> int:
    """Create (or replace, by name) a notification: a webhook block and an automation on the event."""
    from cli.errors import UsageError

    if (slack_webhook is None) == (webhook is None):
        return guarded(lambda: _raise(UsageError("give exactly one of --slack-webhook URL and --webhook URL")))
    kind = "slack" if slack_webhook is not None else "webhook"
    given: dict[str, str] = {}

    def check() -> None:
        from flows import notifications

        given["url"] = notifications.check_url(_url(slack_webhook or webhook or ""), kind)
        given["name"] = notifications.check_name(name or notifications.default_name(on, cluster))

    def body() -> int:
        from flows import notifications

        note = notifications.add(given["name"], kind, given["url"], on, cluster)
        print(f"{note.name}: {notifications.describe(note).removeprefix('kwa notify: ')}")
        return ExitCode.OK

    return _run(body, start=True, check=check)


def _raise(exc: Exception) -> int:
    raise exc


@app.command("list", context_settings=CONTEXT)
def list_() -> int:
    """The notifications on the Prefect server (webhook URLs shown as scheme and host only)."""

    def body() -> int:
        from flows import notifications
        from redaction import redact

        notes = notifications.listed()
        if not notes:
            print("no notifications (add one with: kwa notify add --webhook URL)")
        for n in notes:
            state = "" if n.enabled else "  (disabled)"
            print(redact(f"{n.name}  {n.kind}  on {n.on}  cluster {n.cluster or '*'}  {n.target}{state}"))
        return ExitCode.OK

    return _run(body)


@app.command(context_settings=CONTEXT)
def remove(name: Annotated[str, typer.Argument(help="the notification's name (kwa notify list)")]) -> int:
    """Delete a notification's automation and block."""

    def body() -> int:
        from flows import notifications
        from kwa.errors import NotFound

        if not notifications.remove(name):
            raise NotFound(f"no notification named {name!r} (kwa notify list shows them)")
        print(f"removed {name}")
        return ExitCode.OK

    def check() -> None:
        from flows.notifications import check_name

        check_name(name)

    return _run(body, check=check)
