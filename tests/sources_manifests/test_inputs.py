"""Reading inputs within their limits: sizes, pipes, stdin, encodings, directories, and why
nothing was read when nothing was."""

from __future__ import annotations

import io
import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from checks.limits import ENCODING, LIMIT, NOTHING_READ, UNREADABLE, Limits
from checks.sources import inputs
from checks.sources.manifests import load_manifests

DEPLOY = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: NAME, namespace: shop}\nspec: {}\n"


def deploy(name: str) -> str:
    return DEPLOY.replace("NAME", name)


def test_a_file_over_file_bytes_is_not_read_and_the_others_are(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(deploy("a"))
    (tmp_path / "big.yaml").write_text(deploy("big") + "# padding\n" * 200)
    snap = load_manifests([str(tmp_path)], limits=replace(Limits(), file_bytes=1000))
    assert [o.name for o in snap.objects] == ["a"]
    (problem,) = snap.problems
    assert problem.kind == LIMIT and problem.source.endswith("big.yaml")
    assert problem.message == "2,085 bytes, over limits.file_bytes (1,000 bytes); not read"


def test_inputs_past_input_bytes_are_not_read(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / f"{name}.yaml").write_text(deploy(name) + "#" * 300 + "\n")
    snap = load_manifests([str(tmp_path)], limits=replace(Limits(), input_bytes=900, file_bytes=900))
    assert [o.name for o in snap.objects] == ["a", "b"]
    (problem,) = snap.problems
    assert problem.message.startswith("not read: the inputs before it used 768 bytes of limits.input_bytes (900 bytes)")
    assert snap.problems.stats.read == 2 and snap.problems.stats.inputs == 3


def test_stdin_is_read_as_bytes_and_stops_at_the_limit() -> None:
    snap = load_manifests(["-"], stdin=io.BytesIO(deploy("a").encode()))
    assert [o.name for o in snap.objects] == ["a"]
    endless = io.BytesIO(deploy("a").encode() + b"#" * 10_000)
    snap = load_manifests(["-"], stdin=endless, limits=replace(Limits(), file_bytes=2_000))
    assert not snap.objects
    assert str(snap.problems[0]) == (
        "<stdin>: over limits.file_bytes (2,000 bytes); reading stopped there, nothing of it used"
    )
    assert endless.tell() <= 2_001  # not read past the limit


def test_text_stdin_still_works() -> None:
    snap = load_manifests(["-"], stdin=io.StringIO(deploy("a")))
    assert [o.name for o in snap.objects] == ["a"]


def test_a_pipe_is_an_input(tmp_path: Path) -> None:
    # kwa run --manifests <(helm template ...): a path that is a pipe, not a file.
    fifo = tmp_path / "helm"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(deploy("piped")))
    writer.start()
    snap = load_manifests([str(fifo)])
    writer.join()
    assert [o.name for o in snap.objects] == ["piped"]


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
     ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"\x00\x00\xfe\xff")],
)
def test_a_byte_order_mark_says_how_to_decode(encoding: str, prefix: bytes, tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_bytes(prefix + (deploy("a") + "---\n" + deploy("café")).encode(encoding))
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["a", "café"], snap.problems
    assert not snap.problems


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_told_by_their_zero_bytes(
    encoding: str, suffix: str, tmp_path: Path
) -> None:
    """YAML 1.2 (5.2) and JSON (RFC 4627) tell these apart by where the zero bytes of the first
    characters are (``Out-File -Encoding unicode`` style output without its mark). Before, the
    file failed as "unacceptable character #x0000"."""
    path = tmp_path / f"app.{suffix}"
    text = deploy("café") if suffix == "yaml" else json.dumps(yaml.safe_load(deploy("café")), indent=2)
    path.write_bytes(text.encode(encoding))
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["café"], snap.problems
    assert not snap.problems


def test_zero_bytes_that_do_not_look_like_utf16_stay_an_error(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_bytes(bytes(range(256)) * 4)  # binary: 00 01 02 03 …
    snap = load_manifests([str(path)])
    assert snap.objects == [] and snap.problems[0].kind == ENCODING


def test_utf16_that_does_not_decode_names_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    text = deploy("a").encode("utf-16-le")
    path.write_bytes(b"\xff\xfe" + text[:20] + b"\x00\xd8" + text[20:])  # a lone surrogate inside
    snap = load_manifests([str(path)])
    (problem, nothing) = snap.problems
    assert problem.kind == ENCODING
    assert problem.message == "not valid UTF-16 text: illegal UTF-16 surrogate at byte offset 22"
    assert nothing.kind == NOTHING_READ
    # Not "no document in them (blank or comments only)": the input is not text.
    assert nothing.message.endswith("bytes read, not text in their encoding (said above)"), nothing.message


@pytest.mark.parametrize(
    ("encoding", "cut"),
    [("utf-16", 1), ("utf-16-le", 1), ("utf-32", 1), ("utf-32", 3), ("utf-32-be", 2)],
)
def test_utf16_or_utf32_cut_short_keeps_what_arrived_whole(encoding: str, cut: int, tmp_path: Path) -> None:
    """A writer killed mid-character (a full disk, an interrupted PowerShell redirect): the
    documents before the cut are read, and the cut is said, as for a cut JSON or YAML dump."""
    data = (deploy("a") + "---\n" + deploy("café") + "---\n# the end\n").encode(encoding)
    whole = 4 if "32" in encoding else 2
    path = tmp_path / "app.yaml"
    path.write_bytes(data[:-cut])
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["a", "café"], snap.problems
    (problem,) = snap.problems
    assert problem.kind == ENCODING
    name = encoding.upper()[:6]
    assert problem.message == (
        f"cut short: its last {whole - cut} byte(s), from offset {len(data) - whole:,}, are not a whole {name} "
        "character; the text before them is read"
    ), problem.message


def test_a_cut_inside_a_surrogate_pair_is_a_cut(tmp_path: Path) -> None:
    data = (deploy("a") + "# 😀\n").encode("utf-16-le")
    path = tmp_path / "app.yaml"
    path.write_bytes(data[:-4])  # the pair's low half and the newline are missing
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["a"]
    assert snap.problems[0].message.startswith("cut short: its last 2 byte(s)")


def test_the_byte_offset_counts_bytes_not_characters(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    data = deploy("a").replace("shop", "café").encode() + b"---\nkind: x\nname: \xff\n"
    path.write_bytes(data)
    snap = load_manifests([str(path)])
    (problem,) = snap.problems
    offset = data.index(b"\xff")
    assert problem.message == f"not valid UTF-8: byte 0xff at byte offset {offset} (line 7)"


def test_a_directory_that_cannot_be_read_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.yaml").write_text(deploy("a"))
    (tmp_path / "locked").mkdir()
    real = os.scandir

    def scandir(path: object = ".") -> object:  # running as root, chmod would not lock it
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    snap = load_manifests([str(tmp_path)])
    assert [o.name for o in snap.objects] == ["a"]
    (problem,) = snap.problems
    assert (problem.kind, problem.message) == (UNREADABLE, "cannot read directory: Permission denied")
    assert problem.source.endswith("locked")


def test_a_broken_link_or_a_pipe_among_the_manifests_is_said_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(deploy("a"))
    (tmp_path / "linked.yaml").symlink_to(tmp_path / "a.yaml")  # a link to a manifest is read
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "removed-in-this-pr.yaml")
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "to-pipe.yaml").symlink_to(tmp_path / "pipe.json")  # a link that exists, to no file
    snap = load_manifests([str(tmp_path)])
    assert [o.name for o in snap.objects] == ["a", "a"]
    said = {Path(p.source).name: (p.kind, p.message) for p in snap.problems}
    assert said == {
        "gone.yaml": (UNREADABLE, f"a symbolic link to {tmp_path / 'removed-in-this-pr.yaml'}, which does not exist"),
        "pipe.json": (UNREADABLE, "not a regular file (a pipe, socket or device): not read"),
        "to-pipe.yaml": (UNREADABLE, "not a regular file (a pipe, socket or device): not read"),
    }


def test_a_path_the_system_cannot_use_is_a_clear_error_not_a_crash(tmp_path: Path) -> None:
    from checks.sources.manifests import SourceError, expand_paths

    shown = r"^manifest path cannot be used: File name too long: a{120}… \(5,005 characters\)$"
    with pytest.raises(SourceError, match=shown):
        expand_paths(["a" * 5000 + ".yaml"])


def test_a_directory_of_unreadable_manifests_says_so(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to("nowhere.yaml")
    snap = load_manifests([str(tmp_path)])
    *said, last = list(snap.problems)
    assert [p.message for p in said] == ["a symbolic link to nowhere.yaml, which does not exist"]
    assert (last.kind, last.message) == (
        NOTHING_READ,
        f"no Kubernetes objects: no readable .yaml, .yml or .json files in {tmp_path} (1 not read)",
    )


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no Kubernetes objects: no .yaml, .yml or .json files in DIR"),
        ({"a.yaml": ""}, "no Kubernetes objects: the input is empty"),
        ({"a.yaml": "", "b.yaml": ""}, "no Kubernetes objects: the 2 inputs are empty"),
        ({"a.yaml": "# nothing here\n---\n# nor here\n"},
         "no Kubernetes objects: 30 bytes read, no document in them (blank or comments only)"),
        ({"a.yaml": "- a list\n---\nfoo: bar\n---\n"}, "no Kubernetes objects: none of the 2 documents read is one; "
                                                      "1 more were empty"),
        ({"a.json": '{"kind": "Thing"}'}, "no Kubernetes objects: the one document read was skipped"),
    ],
    ids=["empty directory", "empty file", "empty files", "comments only", "no objects", "one non-object"],
)
def test_when_nothing_is_read_the_problems_say_why(files: dict[str, str], message: str, tmp_path: Path) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    snap = load_manifests([str(tmp_path)])
    assert not snap.objects
    last = list(snap.problems)[-1]
    assert last.kind == NOTHING_READ
    assert last.message == message.replace("DIR", str(tmp_path))
    stats = snap.problems.stats
    assert stats.inputs == len(files) and stats.objects == 0


def test_positions_count_lines_and_bytes_forward_and_back() -> None:
    text = "é\n\udcff\nab\udcfe"
    where = inputs.Positions(text, skipped=3)
    assert where.bad_byte(2) == "byte 0xff at byte offset 6 (line 2)"
    assert where.bad_byte(6) == "byte 0xfe at byte offset 10 (line 3)"
    assert where.bad_byte(2) == "byte 0xff at byte offset 6 (line 2)"  # backwards: counted again
