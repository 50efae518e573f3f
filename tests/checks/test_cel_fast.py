"""The Python fast path of CEL (checks.cel.fast) against the Rust library, differentially.

For random objects (trees with missing fields, nulls, wrong types, big ints, floats, unicode,
YAML dates, lone surrogates) and expressions (the examples' and the benchmark's, hand-written
edge cases, and expressions generated from a grammar over the subset), the engine's answer with
the fast path must equal the Rust library's alone: the same value of the same type, or the same
error message. Separately, whenever the fast closure itself decides (does not defer), its value is
the library's.
"""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bench.cel import EXPRESSIONS, LABELS_CHECK, PRIVILEGED_CHECK
from checks.cel.convertible import converter_check, convertible
from checks.cel.engine import CelError, CelEvaluationError, Environment, Program, cel, compile_expression
from checks.cel.fast import Defer, compile_fast
from checks.cel.fastparse import Unsupported, parse
from checks.cel.files import read_text
from checks.cel.paths import EACH, WHOLE, project

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = ("object", "oldObject", "params", "namespaceObject", "request", "variables")


def _example_sources() -> list[str]:
    out = []
    for path in sorted((ROOT / "examples" / "checks").glob("*.yaml")):
        for spec in read_text(path.read_text(), str(path)):
            out += [p.source for p in spec.programs if "objects" not in p.paths]
    for text in (LABELS_CHECK, PRIVILEGED_CHECK):
        for spec in read_text(text, "bench"):
            out += [p.source for p in spec.programs]
    return out + list(EXPRESSIONS.values())


HANDWRITTEN = [
    "object.a == object.b",
    "object.a != object.b",
    "object.a < object.b || object.a >= object.b",
    "object.a <= 3 && object.b > -2",
    "object.a + object.b",
    "object.a - object.b",
    "-object.a",
    "!object.a",
    "object.a ? object.b : object.c",
    "object.a in object.b",
    "'a' in object.b",
    "1 in object.b",
    "object.a == null",
    "null == object.b",
    "size(object.a)",
    "object.a.size()",
    "int(object.a)",
    "string(object.a)",
    "has(object.a)",
    "has(object.a.b)",
    "object.a[0]",
    "object.a['b']",
    "object.a[object.b]",
    "object.a.all(x, x == 'a')",
    "object.a.exists(x, x > 0)",
    "object.a.exists_one(x, x == object.b)",
    "object.a.map(x, x)",
    "object.a.filter(x, has(x.b))",
    "object.a.map(x, x.b).filter(y, y != '')",
    "object.a.all(x, x.all(y, y == x))",
    "object.a.startsWith(object.b)",
    "object.a.endsWith('z') || object.a.contains('é')",
    "object.a.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
    "object.a.matches('a.c')",
    "object.a.matches('(ab|cd)+x{2,3}$')",
    "object.a && object.b",
    "object.a || object.b",
    "[object.a, 'x'] + [object.b]",
    "object.a == [1, 2]",
    "object.a == 9223372036854775807",
    "object.a + 1",
    "object.a.b.c == 'x' ? 'yes' : 'no'",
    "'a\\'b' + object.a",
    "object.a == true",
    "object.a < 'b'",
    "params.a == object.a",
    "namespaceObject.a == object.a",
]

KEYS = ["a", "b", "c", "é", "x"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64 + 5, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "a", "b", "ab", "abc", "abc\n", "é", "😀", "a-b-c", "1", "+7", " 1", "x"]),
    st.text(max_size=6),
)
ODD = st.sampled_from([datetime.date(2024, 1, 1), "\ud800", b"ab"])
VALUES = st.recursive(
    st.one_of(SCALARS, ODD),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)
SIMPLE = st.one_of(
    st.sampled_from(["", "a", "b", "ab", "é", "1"]),
    st.integers(min_value=-2, max_value=2),
    st.booleans(),
    st.lists(st.sampled_from(["a", "b", ""]), max_size=3),
)
# Mostly well-typed shapes (so that the fast path decides often), and anything at all.
OBJECTS = st.one_of(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]), st.one_of(SIMPLE, st.dictionaries(st.sampled_from(KEYS), SIMPLE))
    ),
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
)

# Expressions generated from a small grammar over the subset.
_PATH = st.one_of(
    st.sampled_from(["object.a", "object.b", "object.c"]),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(lambda p: "object." + ".".join(p)),
)
_LIT = st.sampled_from(["'a'", "'é'", "''", "0", "1", "-1", "true", "false", "null", "[1, 'a']", "['a', 'b']"])


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "&&", "||", "in", "+", "-"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda e: f"!{e}"),
        inner.map(lambda e: f"size({e})"),
        inner.map(lambda e: f"int({e})"),
        inner.map(lambda e: f"string({e})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(_PATH, st.sampled_from(["all", "exists", "exists_one", "map", "filter"]), inner).map(
            lambda t: f"{t[0]}.{t[1]}(v, {t[2].replace('object.c', 'v')})"
        ),
        st.tuples(inner, st.sampled_from(["startsWith", "endsWith", "contains"]), inner).map(
            lambda t: f"{t[0]}.{t[1]}({t[2]})"
        ),
        st.tuples(inner, st.sampled_from(["'^a'", "'b$'", "'a.c'", "'[a-c]+'", "'(a|é)'"])).map(
            lambda t: f"{t[0]}.matches({t[1]})"
        ),
        _PATH.map(lambda p: f"has({p})"),
        st.tuples(_PATH, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
    )


GENERATED = st.recursive(st.one_of(_PATH, _LIT), _grow, max_leaves=6)


def _reference(source: str) -> Program:
    program = compile_expression(source, where="test")
    program.fast = None
    return program


def _outcome(program: Program, activation: dict[str, Any]) -> tuple[str, Any, type | None]:
    env = Environment(None, programs=[program])
    try:
        value = env.bind(activation).run(program)
    except CelEvaluationError as exc:
        return ("error", str(exc), None)
    return ("value", _canonical(value), type(value))


def _canonical(value: Any) -> Any:
    """NaN equals itself here, so that values compare by what they are."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, list):
        return [(_canonical(v), type(v)) for v in value]
    if isinstance(value, dict):
        return {k: (_canonical(v), type(v)) for k, v in value.items()}
    return value


def _unordered(outcome: tuple[str, Any, type | None]) -> tuple[str, Any, type | None]:
    kind, value, t = outcome
    return (kind, sorted(repr(value)), t)


def _agree(source: str, obj: dict[str, Any], params: Any = None) -> bool:
    """Asserts the engine's answer with the fast path is the library's; True if the fast closure decided."""
    try:
        fast = compile_expression(source, where="test")
    except CelError:  # the library refuses it: nothing to compare
        return False
    if fast.fast is None:
        return False
    activation = {"object": obj, "params": params, "namespaceObject": {"a": "ns"}}
    got = _outcome(fast, activation)
    # The library is not deterministic where it iterates a map (a list + a map, map() over a map):
    # the engine's answer must be one of the library's (or the same up to that order).
    answers = [_outcome(_reference(source), activation) for _ in range(4)]
    assert got in answers or any(_unordered(got) == _unordered(a) for a in answers), (source, got, answers)
    scope = {name: activation.get(name) for name in VARIABLES}
    scope["variables"] = {}
    if not all(convertible(scope[n], t) for n, t in fast.paths.items() if n != "variables"):
        return False
    try:
        value = fast.fast(scope)
    except Defer:
        return False
    assert _outcome(_reference(source), activation)[1:] == (_canonical(value), type(value)), source
    return True


SOURCES = _example_sources() + HANDWRITTEN
FAST_SOURCES = [s for s in SOURCES if compile_fast(s, VARIABLES) is not None]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(source=GENERATED, obj=OBJECTS)
def test_fast_path_agrees_with_the_library_on_generated_expressions(source: str, obj: dict[str, Any]) -> None:
    assume(compile_fast(source, VARIABLES) is not None)
    _agree(source, obj)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*at, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with a few fields removed or replaced by anything."""
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        path = draw(st.sampled_from(_paths(obj)[1:]))
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(st.one_of(SIMPLE, VALUES))
    return obj


def _object(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "labels": {"team": "shop", "app": "web"}}, **fields}


DEPLOYMENT = _object(
    kind="Deployment",
    spec={
        "replicas": 3,
        "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {}}]}},
    },
)


POD = _object(
    kind="Deployment",
    metadata={"name": "api", "namespace": "shop", "labels": {"team": "a"}, "annotations": {"kwa.io/runbook": "x"}},
    spec={
        "template": {
            "metadata": {"labels": {"app": "api"}},
            "spec": {
                "securityContext": {"runAsNonRoot": True},
                "containers": [
                    {
                        "name": "api",
                        "image": "registry/api:latest",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "2"}},
                        "securityContext": {"privileged": True, "runAsNonRoot": False},
                    },
                    {"name": "side", "image": "busybox@sha256:1", "readinessProbe": {}},
                ],
            },
        },
        "rules": [{"host": "a.io"}, {}],
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(FAST_SOURCES),
    obj=st.one_of(OBJECTS, mutated(DEPLOYMENT), mutated(POD)),
    params=st.one_of(st.none(), OBJECTS),
)
def test_fast_path_agrees_with_the_library_on_known_expressions(source: str, obj: dict[str, Any], params: Any) -> None:
    _agree(source, obj, params)


@pytest.mark.parametrize(
    "source",
    [
        "has(object.metadata.labels) && 'team' in object.metadata.labels",
        "object.spec.template.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged))",
        "object.spec.replicas >= 2 && object.kind == 'Deployment'",
        "object.metadata.name.startsWith('we') && object.metadata.name.matches('^[a-z]+$')",
        "object.spec.template.spec.containers.map(c, c.name) == ['app'] || size(object.metadata.labels) == 2",
        "'team' in object.metadata.labels ? object.metadata.labels.team : 'none'",
    ],
)
def test_the_common_forms_are_decided_in_python(source: str) -> None:
    assert _agree(source, DEPLOYMENT), f"deferred to the library: {source}"


@pytest.mark.parametrize(
    ("source", "obj"),
    [
        ("object.spec.replicas > 1", _object(spec={"replicas": 2.0})),  # a double meets an int
        ("object.spec.replicas > 1", _object(spec={})),  # a missing field: the library's error
        ("object.metadata.labels.team == 'x'", _object(metadata={"labels": {"team": datetime.date(2024, 1, 1)}})),
        ("'team' in object.metadata.labels", _object(metadata={"labels": {"team": "a", "z": "\ud800"}})),
        ("object.spec.replicas == 2", _object(spec={"replicas": 2**63})),  # a uint to the library
        ("object.spec.x && false", _object(spec={})),  # an error absorbed by && is the library's call
    ],
)
def test_what_the_fast_path_cannot_be_sure_of_goes_to_the_library(source: str, obj: dict[str, Any]) -> None:
    assert not _agree(source, obj)


@pytest.mark.parametrize(
    "source",
    [
        "object.a.matches('\\\\d+')",  # \d: Unicode digit classes may differ
        "object.a.matches('(?i)a')",  # flags
        "object.a.matches(object.b)",  # a pattern known only at run time
        "object.a * 2 == 4",
        "{'a': 1}.a == 1",
        "1.5 < object.a",
        "object.a.lowerAscii() == 'a'",
        "object.?a.orValue(1) == 1",
        "unknown.a == 1",
        "object.a.all(object, object == 1)",  # a macro variable shadowing an activation name
    ],
)
def test_expressions_outside_the_subset_get_no_fast_path(source: str) -> None:
    assert compile_fast(source, VARIABLES) is None


def test_the_parser_refuses_what_it_does_not_know() -> None:
    with pytest.raises(Unsupported):
        parse("r'raw'")
    with pytest.raises(Unsupported):
        parse("0x1F == 31")
    assert parse("a.b[0] in [1, 'x']") == (
        "binary",
        "in",
        ("index", ("select", ("id", "a"), "b"), ("lit", 0)),
        ("list", [("lit", 1), ("lit", "x")]),
    )


def test_the_examples_single_object_expressions_take_the_fast_path_where_documented() -> None:
    # docs/custom-checks.md lists them: 13 of the 25 expressions of the single-object example
    # checks; the rest call Kubernetes library functions or format(), which only the library has.
    fast, total = [], 0
    for path in sorted((ROOT / "examples" / "checks").glob("*.yaml")):
        for spec in read_text(path.read_text(), str(path)):
            if any("objects" in p.paths for p in spec.programs):
                continue
            total += len(spec.programs)
            fast += [spec.id for p in spec.programs if p.fast is not None]
    assert (len(fast), total) == (13, 25)
    assert set(fast) == {"CUS-001", "CUS-004", "CUS-005", "CUS-006", "CUS-007", "CUS-008", "CUS-009", "CUS-010"}


def test_deeply_nested_data_is_left_to_the_library() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    source = "object.a == object.b"
    activation = {"object": {"a": deep, "b": "x"}}
    assert _outcome(compile_expression(source, where="test"), activation) == _outcome(_reference(source), activation)


TREES = st.recursive(
    st.just(WHOLE) | st.just({}),
    lambda inner: st.dictionaries(st.sampled_from(KEYS), inner, max_size=3) | inner.map(lambda t: {EACH: t}),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(VALUES, OBJECTS), tree=TREES)
def test_convertible_only_when_the_library_converts_the_projection(value: Any, tree: Any) -> None:
    context = cel.Context()
    try:
        context.add_variable("x", project(value, tree))
        converts = True
    except ValueError:
        converts = False
    # Whatever the fast path reads, the library would have converted (bytes, which the fast path
    # never reads, it refuses too: those objects go to the library).
    ok = convertible(value, tree)
    assert converts or not ok
    assert converter_check(tree)(value) is ok


PATTERN_PIECES = st.sampled_from(
    [
        "a",
        "b",
        "é",
        ".",
        "^",
        "$",
        "*",
        "+",
        "?",
        "|",
        "(",
        ")",
        "(?:",
        "[a-c]",
        "[^b]",
        "[.$]",
        "{2}",
        "{1,2}",
        "{0,}",
        "\\.",
        "\\/",
        "\\-",
        "\\\\",
        "\\$",
        "\\(",
        "\\[",
        "\\{",
        "-",
        " ",
        "/",
        ":",
        "_",
        "0",
        "9",
        "'",
        "#",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    pattern=st.lists(PATTERN_PIECES, min_size=1, max_size=8).map("".join),
    texts=st.lists(st.text(alphabet="abé.$/-\\ \n:_09'#(", max_size=6), min_size=1, max_size=5),
)
def test_a_pattern_taken_by_the_fast_path_matches_as_the_library_does(pattern: str, texts: list[str]) -> None:
    literal = "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"
    source = f"object.a.matches({literal})"
    assume(compile_fast(source, VARIABLES) is not None)
    for text in texts:
        assert _agree(source, {"a": text}), (pattern, text)


# Typed generation: expressions that are well-typed over objects shaped {a: str, b: int, c: [str],
# d: {str: str}}, so that the fast path decides most of them (the untyped grammar above mostly
# probes the deferrals).
_S0 = st.sampled_from(["object.a", "'a'", "'é😀'", "''", "object.d.k", "object.d['k']", "object.c[0]"])
_I0 = st.sampled_from(["object.b", "0", "1", "-2", "9223372036854775807"])
_L0 = st.sampled_from(["object.c", "['a', 'b']", "[]"])


def _typed(depth: int) -> dict[str, st.SearchStrategy[str]]:
    if depth == 0:
        b0 = st.sampled_from(["true", "false", "has(object.a)", "has(object.d.k)", "'k' in object.d"])
        return {"s": _S0, "i": _I0, "l": _L0, "b": b0}
    t = _typed(depth - 1)
    s, i, lst, b = t["s"], t["i"], t["l"], t["b"]
    v = st.sampled_from(["v", "v + 'x'", "'a'"])
    return {
        "s": st.one_of(
            s,
            st.tuples(s, s).map(lambda p: f"{p[0]} + {p[1]}"),
            i.map(lambda e: f"string({e})"),
            st.tuples(b, s, s).map(lambda p: f"({p[0]} ? {p[1]} : {p[2]})"),
        ),
        "i": st.one_of(
            i,
            s.map(lambda e: f"size({e})"),
            lst.map(lambda e: f"{e}.size()"),
            st.tuples(i, st.sampled_from(["+", "-"]), i).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
            s.map(lambda e: f"int({e})"),
        ),
        "l": st.one_of(
            lst,
            st.tuples(lst, v).map(lambda p: f"{p[0]}.map(v, {p[1]})"),
            st.tuples(lst, s).map(lambda p: f"{p[0]}.filter(v, v != {p[1]})"),
            st.tuples(lst, lst).map(lambda p: f"{p[0]} + {p[1]}"),
        ),
        "b": st.one_of(
            b,
            st.tuples(s, st.sampled_from(["==", "!=", "<", ">="]), s).map(lambda p: f"{p[0]} {p[1]} {p[2]}"),
            st.tuples(i, st.sampled_from(["==", "<", "<=", ">"]), i).map(lambda p: f"{p[0]} {p[1]} {p[2]}"),
            st.tuples(s, lst).map(lambda p: f"{p[0]} in {p[1]}"),
            st.tuples(lst, lst).map(lambda p: f"{p[0]} == {p[1]}"),
            st.tuples(b, st.sampled_from(["&&", "||"]), b).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
            b.map(lambda e: f"!{e}"),
            st.tuples(s, st.sampled_from(["startsWith", "endsWith", "contains"]), s).map(
                lambda p: f"{p[0]}.{p[1]}({p[2]})"
            ),
            st.tuples(lst, st.sampled_from(["all", "exists", "exists_one"]), s).map(
                lambda p: f"{p[0]}.{p[1]}(v, v.startsWith({p[2]}))"
            ),
            s.map(lambda e: f"{e}.matches('^[a-z]*$')"),
        ),
    }


TYPED = _typed(2)
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "a": st.one_of(st.text(alphabet="abké😀", max_size=4), SIMPLE),
        "b": st.one_of(st.integers(min_value=-3, max_value=3), st.sampled_from([2**63 - 1, 1.0]), SIMPLE),
        "c": st.one_of(st.lists(st.text(alphabet="abx", max_size=2), max_size=3), SIMPLE),
        "d": st.one_of(st.dictionaries(st.sampled_from(["k", "l"]), st.text(alphabet="ab", max_size=2)), SIMPLE),
    },
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(kind=st.sampled_from("sibl"), data=st.data())
def test_fast_path_agrees_with_the_library_on_typed_expressions(kind: str, data: st.DataObject) -> None:
    source = data.draw(TYPED[kind])
    assume(compile_fast(source, VARIABLES) is not None)
    _agree(source, data.draw(SHAPED))


def test_a_value_the_library_cannot_convert_is_an_evaluation_error_of_that_object() -> None:
    program = compile_expression("'team' in object.metadata.labels", where="test")
    env = Environment(None, programs=[program])
    dated = {"metadata": {"labels": {"team": "a", "since": datetime.date(2024, 1, 1)}}}  # unquoted YAML date
    with pytest.raises(CelEvaluationError, match="date"):
        env.bind({"object": dated}).run(program)
    assert env.bind({"object": {"metadata": {"labels": {"team": "a"}}}}).run(program) is True
