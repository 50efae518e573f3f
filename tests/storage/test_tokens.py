"""API tokens in storage (migration 0008) on SQLite and PostgreSQL: only a hash is kept, scopes
are ordered, revoked and forged tokens are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import tokens_table as T
from storage.tokens import (
    SCOPES,
    TOKEN_SHAPE,
    TokenError,
    create_token,
    list_tokens,
    revoke_token,
    scope_allows,
    verify_token,
)


def test_a_token_is_stored_as_a_hash_only(db: Database) -> None:
    row, token = create_token(db, "run", "ci")
    assert TOKEN_SHAPE.fullmatch(token) and row["scope"] == "run" and row["name"] == "ci"
    secret = token.split("_", 2)[2]
    with db.read() as conn:
        stored = dict(conn.execute(select(T)).one()._mapping)
    assert secret not in str(stored) and len(stored["secret_hash"]) == 64
    assert "secret_hash" not in list_tokens(db)[0]


def test_verify_revoke_and_forgery(db: Database) -> None:
    row, token = create_token(db, "read")
    found = verify_token(db, token)
    assert found is not None and found["token_id"] == row["token_id"] and found["last_used_at"] is not None
    assert verify_token(db, token[:-1] + ("x" if token[-1] != "x" else "y")) is None
    assert verify_token(db, "kwa_" + "0" * 12 + "_" + "a" * 43) is None
    assert verify_token(db, "' OR 1=1 --") is None
    revoked = revoke_token(db, token)  # the whole token works as well as its id
    assert revoked["revoked_at"] is not None
    assert verify_token(db, token) is None
    again = revoke_token(db, row["token_id"])
    assert again["revoked_at"] == revoked["revoked_at"]  # the first revocation stands
    with pytest.raises(TokenError):
        revoke_token(db, "nope")


def test_scopes_are_ordered_and_checked() -> None:
    assert SCOPES == ("read", "run", "admin")
    assert scope_allows("admin", "run") and scope_allows("run", "read") and scope_allows("read", "read")
    assert not scope_allows("read", "run") and not scope_allows("run", "admin")


def test_bad_scope_or_name(db: Database) -> None:
    with pytest.raises(TokenError, match="unknown scope"):
        create_token(db, "root")
    with pytest.raises(TokenError, match="printable"):
        create_token(db, "read", "x" * 101)
    with pytest.raises(TokenError, match="printable"):
        create_token(db, "read", "bad\nname")
    assert list_tokens(db) == []
