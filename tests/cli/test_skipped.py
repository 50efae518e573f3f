"""Skipped input (a document that does not parse, one that is no Kubernetes object) as the outputs
show it: the place is read back from the run's problem text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from checks.snapshot import ParseProblem
from cli.formatters.skipped import github_commands, parse, sarif_notifications, skipped_of, text_lines

SYNTAX = "k8s/app.yaml (document 2): YAML does not parse: mapping values are not allowed here (line 9, column 7)"


def test_a_syntax_error_keeps_its_file_document_line_and_column() -> None:
    item = parse(SYNTAX)
    assert (item.file, item.document, item.line, item.column) == ("k8s/app.yaml", 2, 9, 7)
    assert list(text_lines([item])) == [
        "k8s/app.yaml:9: ERROR input (document 2): YAML does not parse: mapping values are not allowed here "
        "(line 9, column 7)"
    ]
    (command,) = github_commands([item])
    assert command.startswith("::error file=k8s/app.yaml,line=9,col=7,title=kwa%3A input skipped::k8s/app.yaml")


def test_without_a_line_the_file_alone_and_stdin_by_name() -> None:
    assert list(text_lines([parse("a.yml (document 0): not a Kubernetes object (a list)")])) == [
        "a.yml: ERROR input (document 0): not a Kubernetes object (a list)"
    ]
    assert list(text_lines([parse("<stdin> (document 1): YAML does not parse: x (line 3, column 1)")])) == [
        "<stdin>:3: ERROR input (document 1): YAML does not parse: x (line 3, column 1)"
    ]
    # A List item's source (file#document) still names the file.
    assert parse("dump.json#0 (document 4): items[4] is not an object").file == "dump.json"
    # Not a file at all: the text as it is.
    assert list(text_lines([parse("api: something odd")])) == ["ERROR input: api: something odd"]


def test_more_than_kept_is_counted_and_sarif_locates_each() -> None:
    skipped, total = skipped_of({"problems": [SYNTAX], "problems_total": 3})
    assert total == 3
    assert list(text_lines(skipped, total))[-1] == "ERROR input: 2 more skipped input(s) not listed (3 in all)"
    notes = sarif_notifications(skipped, total)
    assert notes[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "k8s/app.yaml"}, "region": {"startLine": 9, "startColumn": 7}
    }
    assert notes[0]["level"] == "error" and notes[0]["descriptor"]["id"] == "kwa/input"
    assert "2 more" in notes[1]["message"]["text"]


@given(
    source=st.text(min_size=1, max_size=30).filter(lambda s: "\n" not in s),
    index=st.none() | st.integers(0, 10_000),
    message=st.text(min_size=1, max_size=60),
)
def test_any_problem_text_parses_back_to_itself(source: str, index: int | None, message: str) -> None:
    text = str(ParseProblem(source, index, message))
    item = parse(text)
    assert item.text == text
    lines = list(text_lines([item]))
    assert len(lines) == 1 and "\n" not in lines[0] and "ERROR input" in lines[0]


def test_a_list_items_problem_names_the_document_and_the_item() -> None:
    item = parse("dump.json#0 (document 2): not a Kubernetes object: missing apiVersion")
    assert (item.file, item.document, item.item) == ("dump.json", 0, 2)
    assert list(text_lines([item])) == [
        "dump.json: ERROR input (document 0, items[2]): not a Kubernetes object: missing apiVersion"
    ]
    # An item that is no mapping is said by its List document, the message naming the item.
    assert list(text_lines([parse("<stdin> (document 0): items[1] is not an object")])) == [
        "<stdin>: ERROR input (document 0): items[1] is not an object"
    ]


def test_control_characters_are_shown_as_a_finding_shows_them() -> None:
    from cli.formatters.annotations import one_line

    message = "bad\x1b[31m value\u202e here\tand\nthere"
    (line,) = text_lines([parse(f"k8s/a\x07.yaml (document 0): {message}")])
    assert line == f"k8s/a\\x07.yaml: ERROR input (document 0): {one_line(message)}"
    assert one_line(message) == "bad\\x1b[31m value\\u202e here and there"
