"""The benchmark's API double streams a large whole list the way kube-apiserver 1.33+ does: chunked,
gzipped as it goes, the same objects as its pages; kwa reads it in one request."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from bench.apidouble import ApiDouble, write_kubeconfig
from bench.prime import prime
from checks.sources.live import load_live

PODS = 1_200


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p{i:05d}", "namespace": f"ns{i % 7}", "uid": f"u-{i}"},
            "spec": {"containers": [{"name": "app", "image": f"registry.example/app:{i}"}]},
        }
        for i in range(PODS)
    ]
    path = tmp_path_factory.mktemp("double") / "dump.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    return path, pods


@pytest.fixture
def double(dump: tuple[Path, list[dict]]) -> Iterator[tuple[str, list[dict]]]:
    """A fresh double each test: nothing encoded yet, so its first whole answer is streamed."""
    with ApiDouble(str(dump[0])) as url:
        yield url, dump[1]


def _get(url: str, gz: bool) -> urllib3.BaseHTTPResponse:
    headers = {"Accept-Encoding": "gzip" if gz else "identity"}
    query = "limit=500&resourceVersion=0&resourceVersionMatch=NotOlderThan"
    return urllib3.request("GET", f"{url}/api/v1/pods?{query}", headers=headers, decode_content=False)


@pytest.mark.parametrize("gz", [True, False])
def test_a_whole_list_is_streamed_in_chunks_then_served_again_from_its_cache(double: tuple, gz: bool) -> None:
    url, pods = double
    first = _get(url, gz)
    assert first.status == 200
    assert first.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in first.headers
    body = first.data
    if gz:
        assert first.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(body)
    data = json.loads(body)
    expected = [{k: v for k, v in p.items() if k not in ("kind", "apiVersion")} for p in pods]
    assert data["items"] == expected
    assert data["metadata"]["continue"] == ""

    stats = json.loads(urllib3.request("GET", f"{url}/_stats").data)
    assert stats["bytes_sent"] == len(first.data) and stats["gzipped"] == int(gz)

    again = _get(url, gz)  # the encoded answer is cached: the same bytes, sent whole
    assert again.headers.get("Content-Length") == str(len(first.data))
    assert again.data == first.data


def test_kwa_reads_the_streamed_whole_list_in_one_request(double: tuple, tmp_path: Path) -> None:
    url, pods = double
    snap = load_live(write_kubeconfig(tmp_path / "kubeconfig", url), kinds=["Pod"], request_timeout=5.0)
    assert snap.api_stats["gzipped_responses"] == 1  # the streamed, gzipped answer itself
    assert sorted(o.name for o in snap.of_kind("Pod")) == sorted(p["metadata"]["name"] for p in pods)
    assert snap.api_stats["watch_cache"] == "used"
    assert snap.api_stats["pages_by_kind"] == {"Pod": 1}
    assert snap.api_stats["paged_after_cache"] == [] == snap.api_stats["cache_timeouts"]


def test_priming_encodes_every_answer_a_read_asks_for_so_the_run_is_served_from_the_cache(
    double: tuple, tmp_path: Path
) -> None:
    url, pods = double
    primed = prime(url)
    assert primed["answers"] > 0 and primed["bytes"] > 0

    # kwa's own requests now find every answer encoded: the whole list is sent with a length.
    first = _get(url, gz=True)
    assert first.headers.get("Content-Length") and "Transfer-Encoding" not in first.headers
    # And the plain pages kwa falls back to are the same objects, page by page.
    names, token = [], ""
    while True:
        query = "limit=500" + (f"&continue={token}" if token else "")
        page = json.loads(urllib3.request("GET", f"{url}/api/v1/pods?{query}").data)
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"]["continue"]
        if not token:
            break
    assert names == [p["metadata"]["name"] for p in pods]
