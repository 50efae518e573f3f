"""Bearer tokens of the HTTP API: created, listed, revoked, and checked on every request.

A token reads ``kwa_<id>_<secret>``: ``id`` is 12 lower-case hex characters, public (it names the
token in ``kwa tokens list`` and in logs), ``secret`` 43 URL-safe base64 characters (256 random
bits). Only the SHA-256 of the secret is stored. A slow password hash (bcrypt, scrypt) protects
guessable passwords; 256 random bits cannot be guessed, so one SHA-256 is enough and keeps
checking a token well under a millisecond on every request. The comparison of hashes is constant
time.

Scopes are ordered: ``read`` < ``run`` < ``admin``; a token grants its scope and every lower one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from storage.db import Database
from storage.models import tokens_table as T

SCOPES: tuple[str, ...] = ("read", "run", "admin")  # lowest first
PREFIX = "kwa_"
TOKEN_SHAPE = re.compile(r"kwa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
MAX_NAME = 100
# last_used_at is written at most this often per token: a busy client does not turn every read
# into a write (SQLite has one writer).
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    """A bad scope or name, or an unknown token id: messages meant for the user."""


def scope_allows(granted: str, needed: str) -> bool:
    """Whether a token of scope ``granted`` may do what needs ``needed``."""
    return SCOPES.index(granted) >= SCOPES.index(needed)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(db: Database, scope: str, name: str | None = None) -> tuple[dict[str, Any], str]:
    """A new token: ``(its row without the hash, the token itself)`` — the only time it is seen."""
    if scope not in SCOPES:
        raise TokenError(f"unknown scope {scope!r} (expected: {', '.join(SCOPES)})")
    token_id = secrets.token_hex(6)
    name = (name or "").strip() or f"{scope} token {token_id}"
    if len(name) > MAX_NAME or not name.isprintable():
        raise TokenError(f"a token name is at most {MAX_NAME} printable characters")
    secret = secrets.token_urlsafe(32)
    row = {"token_id": token_id, "name": name, "scope": scope, "created_at": datetime.now(UTC)}
    with db.begin() as conn:
        conn.execute(T.insert().values(**row, secret_hash=_hash(secret)))
    return {**row, "last_used_at": None, "revoked_at": None}, f"{PREFIX}{token_id}_{secret}"


def list_tokens(db: Database) -> list[dict[str, Any]]:
    """Every token, oldest first, revoked ones included; never the hash."""
    columns = [c for c in T.c if c.name != "secret_hash"]
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(*columns).order_by(T.c.created_at, T.c.token_id))]


def revoke_token(db: Database, token_id: str) -> dict[str, Any]:
    """Revoke a token (idempotent: revoking it again keeps the first time); its row."""
    token_id = token_id.strip()
    match = TOKEN_SHAPE.fullmatch(token_id)
    if match:  # the whole token pasted: its id is inside
        token_id = match.group(1)
    with db.begin() as conn:
        conn.execute(update(T).where(T.c.token_id == token_id, T.c.revoked_at.is_(None)).values(revoked_at=_now()))
        row = conn.execute(select(T).where(T.c.token_id == token_id)).first()
    if row is None:
        raise TokenError(f"no token {token_id[:40]!r} (kwa tokens list shows them)")
    found = dict(row._mapping)
    found.pop("secret_hash")
    return found


def verify_token(db: Database, token: str) -> dict[str, Any] | None:
    """The token's row when ``token`` is a valid, unrevoked token; else None."""
    match = TOKEN_SHAPE.fullmatch(token)
    if match is None:
        return None
    token_id, secret = match.groups()
    with db.read() as conn:
        row = conn.execute(select(T).where(T.c.token_id == token_id)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    found = dict(row._mapping)
    found.pop("secret_hash")
    now = _now()
    if found["last_used_at"] is None or now - found["last_used_at"] >= TOUCH_EVERY:
        with db.begin() as conn:
            conn.execute(update(T).where(T.c.token_id == token_id).values(last_used_at=now))
        found["last_used_at"] = now
    return found


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "SCOPES",
    "TOKEN_SHAPE",
    "TokenError",
    "create_token",
    "list_tokens",
    "revoke_token",
    "scope_allows",
    "verify_token",
]
