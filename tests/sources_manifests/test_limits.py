"""checks.limits: the limits as configured (file, environment, validation) and the bounded Problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.config import Config, ConfigError
from checks.limits import (
    LIMIT,
    NOT_AN_OBJECT,
    OTHER,
    GiB,
    InputProblem,
    KiB,
    LimitError,
    Limits,
    MiB,
    Problems,
    configured,
    parse_size,
    size,
)
from checks.snapshot import ParseProblem, Snapshot


def test_the_defaults_leave_room_for_real_clusters() -> None:
    limits = Limits()
    assert limits.file_bytes == 2 * GiB  # the 400,000-object envelope's JSON dump, as an API server writes it
    assert limits.input_bytes == 2 * GiB
    assert limits.document_bytes == 8 * MiB  # etcd keeps objects <= 1.5 MiB
    assert limits.depth == 100  # the deepest real CRD in the corpus nests 35 levels
    assert limits.string_length == 1536 * KiB
    assert limits.problems == 20
    assert set(limits.as_dict()) == {"file_bytes", "input_bytes", "documents", "document_bytes", "depth",
                                     "aliases", "alias_nodes", "string_length", "problems"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [(1024, 1024), ("1024", 1024), ("512Mi", 512 * MiB), ("1GiB", GiB), ("64 KiB", 64 * KiB), ("10MB", 10**7),
     ("3k", 3000), ("2G", 2 * 10**9), ("7b", 7)],
)
def test_sizes_are_written_as_people_write_them(text: object, expected: int) -> None:
    assert parse_size(text, "limits.file_bytes") == expected


@pytest.mark.parametrize("text", ["lots", "1.5Mi", "-1", "", True, None, [1]])
def test_a_size_that_is_not_one_names_the_key(text: object) -> None:
    with pytest.raises(LimitError, match=r"^limits\.file_bytes: expected a size in bytes"):
        parse_size(text, "limits.file_bytes")


def test_a_config_section_sets_limits_and_every_mistake_names_its_key() -> None:
    limits = configured({"depth": 50, "file_bytes": "64Mi", "problems": 5}, environ={})
    assert (limits.depth, limits.file_bytes, limits.problems) == (50, 64 * MiB, 5)
    assert limits.aliases == Limits().aliases
    with pytest.raises(LimitError, match=r"^limits\.depht: unknown limit; known limits: file_bytes, input_bytes"):
        configured({"depht": 3}, environ={})
    with pytest.raises(LimitError, match=r"^limits\.depth: expected a whole number, got 'deep'"):
        configured({"depth": "deep"}, environ={})
    with pytest.raises(LimitError, match=r"^limits\.depth: must be at most 250, got 1000"):
        configured({"depth": 1000}, environ={})
    with pytest.raises(LimitError, match=r"^limits\.documents: must be at least 1, got 0"):
        configured({"documents": 0}, environ={})
    with pytest.raises(LimitError, match=r"^limits: expected a mapping"):
        configured([1], environ={})
    assert configured({"aliases": 0}, environ={}).aliases == 0  # no alias at all: allowed


def test_the_environment_overrides_the_file_for_one_run() -> None:
    limits = configured({"depth": 50}, environ={"KWA_LIMIT_DEPTH": "60", "KWA_LIMIT_FILE_BYTES": "1Mi"})
    assert (limits.depth, limits.file_bytes) == (60, MiB)
    with pytest.raises(LimitError, match=r"^KWA_LIMIT_ALIASES: expected a whole number, got 'many'"):
        configured(None, environ={"KWA_LIMIT_ALIASES": "many"})


def test_one_file_is_never_allowed_more_than_all_inputs() -> None:
    limits = configured({"input_bytes": "1Mi"}, environ={})
    assert limits.file_bytes == MiB


def test_the_config_file_validates_limits_like_every_other_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KWA_LIMIT_DEPTH", raising=False)
    cfg = Config.from_dict({"limits": {"depth": 40}})
    assert cfg.limits.depth == 40
    assert cfg.describe()["limits"]["depth"] == 40
    with pytest.raises(ConfigError, match=r"^kwa\.yaml: limits\.alias_nodes: must be at least 1, got 0"):
        Config.from_dict({"limits": {"alias_nodes": 0}}, "kwa.yaml")
    path = tmp_path / "kwa.yaml"
    path.write_text("limits:\n  problems: 3\n")
    assert Config.load(path).limits.problems == 3
    # No config file: the environment still applies, and a bad value is a ConfigError (exit 2).
    monkeypatch.setenv("KWA_CONFIG", "")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing"))
    monkeypatch.setenv("KWA_LIMIT_DEPTH", "30")
    assert Config.load(None).limits.depth == 30
    monkeypatch.setenv("KWA_LIMIT_DEPTH", "1")
    with pytest.raises(ConfigError, match=r"KWA_LIMIT_DEPTH: must be at least 2, got '1'"):
        Config.load(None)


def test_sizes_print_as_limits_are_written() -> None:
    assert [size(n) for n in (512 * MiB, 1536 * KiB, GiB, 1000)] == ["512 MiB", "1.5 MiB", "1 GiB", "1,000 bytes"]


def test_problems_keep_the_first_n_and_count_every_one() -> None:
    problems = Problems(keep=3)
    for i in range(10):
        problems.add(NOT_AN_OBJECT, "junk.yaml", i, "not a Kubernetes object (a str)")
    problems.append(ParseProblem("x.yaml", 0, "plain problem"))  # a plain ParseProblem counts as "other"
    problems.extend([InputProblem("y.yaml", 1, "too deep", LIMIT)])
    assert len(problems) == 3 and [p.index for p in problems] == [0, 1, 2]
    assert problems.total == 12 and problems.omitted == 9
    assert problems.counts == {NOT_AN_OBJECT: 10, OTHER: 1, LIMIT: 1}
    assert problems.summary() == (
        "12 inputs skipped (10 not a Kubernetes object, 1 other, 1 over a limit); the first 3 follow"
    )
    facts = problems.facts()
    assert facts["total"] == 12 and facts["omitted"] == 9 and len(facts["shown"]) == 3
    assert facts["shown"][0] == "junk.yaml (document 0): not a Kubernetes object (a str)"
    assert Problems().summary() == "no inputs skipped"
    # A snapshot takes it as its problem list, bounded as it is.
    snap = Snapshot(objects=[], problems=problems)
    assert snap.problems is problems and len(list(snap.problems)) == 3


def test_a_million_problems_cost_a_counter(tmp_path: Path) -> None:
    problems = Problems(keep=20)
    for i in range(1_000_000):
        problems.add(NOT_AN_OBJECT, "junk.yaml", i, "not a Kubernetes object (a str)")
    assert len(problems) == 20 and problems.total == 1_000_000
    assert len(str(problems.facts())) < 5_000


@pytest.mark.parametrize("value", ["²", "1²", "٣", "１２"])
def test_digits_int_refuses_or_reads_otherwise_are_named_not_raised(value: str) -> None:
    """``str.isdigit`` is true for superscripts and other scripts' digits, which ``int`` refuses or
    reads as other numbers: a limit (or KWA_SHARE_FROM) of them is named, never a traceback."""
    with pytest.raises(LimitError, match=r"^KWA_LIMIT_DEPTH: expected a whole number"):
        configured(None, environ={"KWA_LIMIT_DEPTH": value})
    with pytest.raises(LimitError, match=r"^KWA_LIMIT_FILE_BYTES: expected a size in bytes"):
        configured(None, environ={"KWA_LIMIT_FILE_BYTES": value})
    with pytest.raises(LimitError, match=r"^KWA_SHARE_FROM: expected a whole number of objects"):
        configured(None, environ={"KWA_SHARE_FROM": value})


def test_a_size_is_read_in_linear_time_whatever_its_blanks() -> None:
    """Blanks around and inside a size are allowed; a long run of them that is no size was
    matched by trying every split of it (60,000 blanks: 10 s) and is now refused at once."""
    import time

    assert parse_size(" \t512Mi \n", "x") == 512 * 1024 * 1024 and parse_size("5 Ki", "x") == 5120
    for hostile in ("0" + " " * 60_000 + "!", " " * 60_000 + "1" + " " * 60_000 + "x", "1" + "\t" * 60_000 + "Q"):
        started = time.perf_counter()
        with pytest.raises(LimitError):
            parse_size(hostile, "limits.document_bytes")
        assert time.perf_counter() - started < 0.5
    with pytest.raises(LimitError):
        parse_size("512Mi\u00a0", "x")  # only ASCII blanks, as before
