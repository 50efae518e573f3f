"""Prefect's API clients share one TLS context per setting instead of building one each."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path
from typing import Any

import certifi
import pytest
from prefect.client.orchestration import PrefectClient, SyncPrefectClient, get_client
from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY, temporary_settings

from flows import prefect_tls

URL = "http://127.0.0.1:9/api"  # never called: building a client does not connect


def _context(client: Any) -> ssl.SSLContext:
    # httpx (0.28, pinned through Prefect) keeps the context on its connection pool.
    return client._client._transport._pool._ssl_context  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", URL)
    prefect_tls.install()
    prefect_tls.install()  # idempotent: one wrapper, not two


def test_clients_built_by_prefect_share_one_verifying_context() -> None:
    first, second, sync = get_client(), get_client(), get_client(sync_client=True)
    ctx = _context(first)
    assert _context(second) is ctx and _context(sync) is ctx
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.get_ca_certs()  # certifi's bundle is the trust store, as Prefect would load it


def test_a_client_given_its_own_verify_keeps_it() -> None:
    own = ssl.create_default_context()
    assert _context(PrefectClient(URL, httpx_settings={"verify": own})) is own
    assert _context(SyncPrefectClient(URL, httpx_settings={"verify": own, "timeout": 3})) is own


def test_the_insecure_setting_still_turns_verification_off() -> None:
    verified = _context(get_client())
    with temporary_settings({PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
        insecure = _context(get_client())
        assert _context(get_client(sync_client=True)) is insecure
    assert insecure is not verified
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
    assert _context(get_client()) is verified  # the setting is read per client


def test_a_custom_certificate_file_is_the_trust_store() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "one-ca.pem"
        pem = Path(certifi.where()).read_text()
        first_cert = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
        bundle.write_text(first_cert[: first_cert.index("-----END CERTIFICATE-----") + 25] + "\n")
        with temporary_settings({PREFECT_API_SSL_CERT_FILE: str(bundle)}):
            ctx = _context(get_client())
    assert len(ctx.get_ca_certs()) == 1
    assert ctx is not _context(get_client())
