"""The service tests: the CLI tests' small deterministic database (tests/cli/builder.py), one
token of each scope, and an in-process client of the application (FastAPI's TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kwa.service.app import create_app
from storage.db import Database
from storage.tokens import create_token
from tests.cli import builder

SCOPES = ("read", "run", "admin")


@pytest.fixture(scope="module")
def service_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = builder.seeded(tmp_path_factory.mktemp("service") / "kwa.db")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def tokens(service_db: Database) -> dict[str, str]:
    """One token per scope, by scope name."""
    return {scope: create_token(service_db, scope, f"test {scope}")[1] for scope in SCOPES}


@pytest.fixture(scope="module")
def client(service_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(service_db), raise_server_exceptions=False) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
