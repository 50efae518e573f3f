"""The redaction layer: known values in every form they take, credential shapes, and what is left alone."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

import redaction
from redaction import MASK, redact, redact_bytes, redact_obj, register, register_environment, register_url
from redaction.known import forms

TOKEN = "ey-marker-token-0123456789"
SPLIT = "first-line-Qz81\r\nsecond-line-Qz82\n"


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    redaction.forget_all()
    yield
    redaction.forget_all()


# ---- known values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shown",
    [
        SPLIT,  # raw
        SPLIT.strip(),  # stripped
        repr(SPLIT),  # Python repr: \r\n escaped
        repr(SPLIT.encode()),  # bytes repr, the form http.client's "Invalid header value" uses
        json.dumps(SPLIT),  # JSON escapes
        json.dumps(repr(SPLIT.encode())),  # a bytes repr quoted inside a JSON string: \\r\\n
        quote(SPLIT, safe=""),
        quote_plus(SPLIT),
    ],
    ids=["raw", "stripped", "repr", "bytes-repr", "json", "json-of-repr", "url", "url-plus"],
)
def test_a_known_value_is_masked_in_every_form(shown: str) -> None:
    register(SPLIT)
    out = redact(f"Invalid header value {shown} (while sending)")
    assert "Qz81" not in out and "Qz82" not in out, out
    assert out.startswith("Invalid header value ") and out.endswith(" (while sending)")


def test_each_line_of_a_multi_line_value_is_masked_on_its_own() -> None:
    register(SPLIT)
    assert redact("...first-line-Qz81") == f"...{MASK}"
    assert redact("second-line-Qz82 was the rest") == f"{MASK} was the rest"


def test_forms_of_a_value() -> None:
    got = forms("ab\ncd-efgh\u00e9")
    assert "cd-efgh\u00e9" in got  # a line
    assert "cd-efgh\\xe9" in got  # bytes repr... of the line (unicode_escape)
    assert "ab\\ncd-efgh\\u00e9" in got  # JSON, ASCII-only
    assert "ab" not in got  # shorter than MIN_LENGTH


def test_short_values_are_not_registered() -> None:
    register("abc", " ab ", None, b"", "")
    assert redaction.known_count() == 0
    assert redact("abc is a word") == "abc is a word"


def test_bytes_values_and_bytes_text() -> None:
    register(TOKEN.encode())
    assert redact_bytes(f"x {TOKEN} \xff".encode("latin-1")) == f"x {MASK} \xff".encode("latin-1")


def test_url_userinfo_and_basic_auth() -> None:
    register_url("postgresql://kwa:p%40ss-Qz83@db:5432/kwa")
    register_url("https://ghp_tokenQz84@example.com/repo")
    assert redact("password p@ss-Qz83 or p%40ss-Qz83") == f"password {MASK} or {MASK}"
    assert redact("ghp_tokenQz84") == MASK
    redaction.register_basic_auth("admin", "pw-Qz85")
    header = base64.b64encode(b"admin:pw-Qz85").decode()
    assert redact(f"got {header}") == f"got {MASK}"


def test_environment_credentials() -> None:
    register_environment(
        {
            "PREFECT_API_KEY": "pnu_apikeyQz86",
            "KWA_DATABASE_URL": "postgresql+psycopg://kwa:dbpassQz87@db/kwa",
            "PREFECT_API_AUTH_STRING": "admin:authQz88",
            "GITHUB_TOKEN": "ghs_Qz89",
            "AWS_SECRET_ACCESS_KEY": "awsQz90secret",
            "KWA_TOKEN_FILE_PATH": "/not/a/secret",
            "HOME": "/root",
        }
    )
    text = "pnu_apikeyQz86 dbpassQz87 authQz88 ghs_Qz89 awsQz90secret " + base64.b64encode(b"admin:authQz88").decode()
    assert redact(text) == " ".join([MASK] * 6)
    assert redact("/not/a/secret in /root") == "/not/a/secret in /root"


# ---- shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invalid header value b'Bearer abc123\\r\\n'", "Invalid header value b'Bearer ***'"),
        ("Authorization: Bearer eyJhbGci.x.y", "Authorization: ***"),
        ("{'authorization': 'Basic dXNlcjpwYXNz'}", "{'authorization': '***'}"),
        ("proxy-authorization=Basic Zm9vOmJhcg==", "proxy-authorization=***"),
        ("curl -H 'Bearer sk-1234'", "curl -H 'Bearer ***'"),
        ("Basic dXNlcjpwYXNz", "Basic ***"),
        ("https://user:pass@host:6443/api", "https://***@host:6443/api"),
        ("postgresql+psycopg://kwa:s3cret@db/kwa", "postgresql+psycopg://***@db/kwa"),
        ("token: abc.def", "token: ***"),
        (
            '{"token": "abc", "id_token": "xyz", "client-secret": "s"}',
            '{"token": "***", "id_token": "***", "client-secret": "***"}',
        ),
        ("password=hunter2&user=a", "password=***&user=a"),
        ("client-key-data: LS0tLS1CRUdJTg==", "client-key-data: ***"),
        ("x-api-key: k-1", "x-api-key: ***"),
        ("aws_secret_access_key = wJalr", "aws_secret_access_key = ***"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----\nafter",
            "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\nafter",
        ),
        ("-----BEGIN PRIVATE KEY-----\\nMIIE (cut", "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----"),
        ("key " + "QUJD" * 60, "key ***"),
    ],
)
def test_credential_shapes(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "cannot evaluate, resource not listed: Secret: forbidden: core/secrets (HTTP 403)",
        "automountServiceAccountToken: true on ServiceAccount default",
        "tokenFile: /var/run/secrets/token",
        "continue token expired 4 times while paging, HTTP 410",
        "the bearer token was rejected",
        "basic authentication is disabled",
        "Secret shop/db is referenced by env DB_PASSWORD",
        "image registry.example.com/app@sha256:" + "a" * 64,
        "check did not finish within its 30s timeout and was stopped",
        "mail me at ops@example.com",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_json_stays_valid_json() -> None:
    register(SPLIT)
    doc = {
        "message": f"Invalid header value {SPLIT.encode()!r}",
        "nested": {"text": 'Authorization: Bearer abc"quoted', "token": "x"},
        "log": json.dumps({"token": "abc", "url": "https://u:p@h/"}),
        "list": ["Bearer abc\\", "end"],
    }
    out = redact(json.dumps(doc))
    parsed = json.loads(out)
    assert "Qz81" not in out and "Qz82" not in out
    assert parsed["nested"]["text"].startswith("Authorization: ***")
    assert json.loads(parsed["log"]) == {"token": "***", "url": "https://***@h/"}


def test_redact_obj_walks_json_like_values() -> None:
    register(TOKEN)
    value = {"a": [TOKEN, ("x", f"Bearer {TOKEN}")], TOKEN: 1, "n": 3, "none": None}
    assert redact_obj(value) == {"a": [MASK, ("x", f"Bearer {MASK}")], MASK: 1, "n": 3, "none": None}


def test_non_strings_are_rendered_then_redacted() -> None:
    register(TOKEN)
    assert redact(ValueError(f"bad {TOKEN}")) == f"bad {MASK}"
    assert redact(None) == "None"


def test_redaction_is_cheap_on_ordinary_messages() -> None:
    """A log line or error row costs microseconds, with a PEM key and a token registered."""
    register(TOKEN)
    register("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join("QUJD" * 16 for _ in range(27)) + "\n-----END")
    messages = [
        "cannot evaluate, resource not listed: Deployment: forbidden: apps/deployments (HTTP 403)",
        "check did not finish within its 30s timeout and was stopped",
        "container app: runAsNonRoot is not set",
    ] * 3000
    started = time.perf_counter()
    for message in messages:
        redact(message)
    per_message = (time.perf_counter() - started) / len(messages)
    print(f"{per_message * 1e6:.1f} µs per message")
    assert per_message < 100e-6  # generous: measured 5-10 µs on a loaded 2-core machine


def test_a_large_export_is_redacted_in_bounded_time() -> None:
    """A results export (many rows, anchor words in every one) costs about a second per 10 MB."""
    register(TOKEN)
    row = '{"message": "automountServiceAccountToken: true; secretName db-password", "apiVersion": "v1"},\n'
    text = row * 100_000 + f'{{"leak": "Bearer {TOKEN}", "token": "abc"}}'
    started = time.perf_counter()
    out = redact(text)
    elapsed = time.perf_counter() - started
    print(f"{len(text) / 1e6:.1f} MB in {elapsed:.2f}s")
    assert out.endswith('{"leak": "Bearer ***", "token": "***"}') and out.startswith(row * 3)
    assert elapsed < 6.0  # generous: 0.5-1.7 s for these 9.5 MB on the loaded 2-core machine


def test_a_redacting_stream_holds_partial_lines_and_blocks() -> None:
    import io

    from redaction.hooks import RedactingStream

    register(TOKEN)
    sink = io.StringIO()
    stream = RedactingStream(sink, by_line=True)
    stream.write(f"Bearer {TOKEN[:6]}")
    assert sink.getvalue() == ""  # held: the rest of the line (and of the token) may follow
    stream.write(f"{TOKEN[6:]} done\nnext")
    assert sink.getvalue() == "Bearer *** done\n"
    stream.flush()
    assert sink.getvalue() == "Bearer *** done\nnext"

    sink = io.StringIO()
    block = RedactingStream(sink, by_line=False)
    for _ in range(100):
        block.write(f"row {TOKEN}\n")
    assert sink.getvalue() == ""  # below BLOCK characters: nothing written yet
    block.flush()
    assert sink.getvalue() == "row ***\n" * 100
