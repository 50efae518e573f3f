"""``kwa tokens create|list|revoke``: the bearer tokens of the HTTP API (``kwa serve``).

``create`` prints the new token alone on the last line of stdout; it is shown this once (kwa
keeps only its hash). Scopes: ``read`` (list and read), ``run`` (also start, abort, rerun and
resume runs), ``admin`` (everything; reserved for administrative endpoints). docs/api.md#tokens.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from kwa.commands.common import CONTEXT, GROUP_SETTINGS, output_option
from kwa.errors import guarded
from kwa.exit_codes import ExitCode
from kwa.values import choice_option

app = typer.Typer(help="Bearer tokens of the HTTP API (kwa serve): create, list, revoke.", **GROUP_SETTINGS)
SCOPES = ("read", "run", "admin")


def _database() -> Any:
    from storage.db import Database

    return Database()


def _past_redaction(stream: Any) -> Any:
    """The stream under the redacting wrapper, however many wrappers sit above it: ``python -m kwa``
    puts the closed-pipe guard (cli.pipes) over the redacting stream, and both expose ``wrapped``."""
    from redaction.hooks import RedactingStream

    chain = [stream]
    while len(chain) < 8 and not isinstance(chain[-1], RedactingStream) and hasattr(chain[-1], "wrapped"):
        chain.append(chain[-1].wrapped)
    return chain[-1].wrapped if isinstance(chain[-1], RedactingStream) else stream


@app.command(context_settings=CONTEXT)
def create(
    scope: Annotated[str, choice_option("--scope", choices=SCOPES, help="read < run < admin")],
    name: Annotated[str | None, typer.Option(metavar="NAME", help="what the token is for (shown by list)")] = None,
) -> int:
    """Create a token; it is printed once, alone on the last line of stdout (only its hash is kept)."""

    def body() -> int:
        from cli.errors import UsageError
        from storage.tokens import TokenError, create_token

        try:
            row, token = create_token(_database(), scope, name)
        except TokenError as exc:
            raise UsageError(str(exc)) from None
        print(
            f"token {row['token_id']} ({row['name']}), scope {row['scope']}: shown once, store it now", file=sys.stderr
        )
        # Written straight to the file descriptor: the redacting stdout wrapper (redaction.install)
        # would otherwise mask the one place the token must appear.
        sys.stdout.flush()
        out = _past_redaction(sys.stdout)
        out.write(token + "\n")
        out.flush()
        return ExitCode.OK

    return guarded(body)


@app.command("list", context_settings=CONTEXT)
def list_(output: Annotated[str, output_option(("table", "json"))] = "table") -> int:
    """Every token's id, name, scope, creation, last use and revocation (never the token itself)."""

    def body() -> int:
        from cli.formatters.structured import write_json
        from storage.tokens import list_tokens

        tokens = list_tokens(_database())
        if output == "json":
            write_json("TokenList", {"items": tokens}, sys.stdout)
            return ExitCode.OK
        if not tokens:
            print("no tokens: create one with kwa tokens create --scope read|run|admin")
            return ExitCode.OK
        print(f"{'ID':12}  {'SCOPE':5}  {'CREATED':16}  {'LAST USED':16}  {'REVOKED':16}  NAME")
        for t in tokens:
            when = [
                t[k].strftime("%Y-%m-%d %H:%M") if t[k] else "-" for k in ("created_at", "last_used_at", "revoked_at")
            ]
            print(f"{t['token_id']:12}  {t['scope']:5}  {when[0]:16}  {when[1]:16}  {when[2]:16}  {t['name']}")
        return ExitCode.OK

    return guarded(body)


@app.command(context_settings=CONTEXT)
def revoke(token_id: Annotated[str, typer.Argument(metavar="ID", help="the token's id (kwa tokens list)")]) -> int:
    """Revoke a token; every later request with it is refused (401)."""

    def body() -> int:
        from kwa.errors import NotFound
        from storage.tokens import TokenError, revoke_token

        try:
            row = revoke_token(_database(), token_id)
        except TokenError as exc:
            raise NotFound(str(exc)) from None
        print(f"token {row['token_id']} ({row['name']}) revoked")
        return ExitCode.OK

    return guarded(body)
