"""The CEL engine (checks.cel.engine) and the Kubernetes CEL library functions (checks.cel.k8s_library)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.cel.engine import (
    CelCompileError,
    CelEvaluationError,
    Environment,
    compile_expression,
)
from checks.cel.paths import EACH, WHOLE, project

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "shop", "app": "web"}},
    "spec": {
        "replicas": 3,
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "app", "image": "nginx:1.27", "resources": {"limits": {"memory": "1Gi"}}}]
            },
        },
    },
}


def run(source: str, **activation: Any) -> Any:
    return compile_expression(source, where="test").evaluate(activation)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("has(object.metadata.labels) && 'team' in object.metadata.labels", True),
        ("object.spec.replicas >= 2 && object.metadata.name.startsWith('w')", True),
        ("object.spec.template.spec.containers.map(c, c.name)", ["app"]),
        ("oldObject == null && params == null && namespaceObject == null", True),
        # quantity()
        ("quantity('1Gi') == quantity('1024Mi')", True),
        ("quantity('500m').isLessThan(quantity('1'))", True),
        ("quantity('2Gi').isGreaterThan(quantity('2G'))", True),
        ("quantity('1.5').add(quantity('500m')).asInteger()", 2),
        ("quantity('3').sub(1).compareTo(quantity('2'))", 0),
        ("quantity('250m').asApproximateFloat()", 0.25),
        ("quantity('1e3').isInteger() && quantity('-2').sign() == -1", True),
        ("isQuantity('2Gi') && !isQuantity('2 gigs')", True),
        (
            "object.spec.template.spec.containers.all(c, "
            "quantity(c.resources.limits.memory).isLessThan(quantity('2Gi')))",
            True,
        ),
        # url()
        ("url('https://user@example.com:8443/a%20b?x=1&x=2&y').getScheme()", "https"),
        ("url('https://example.com:8443/path').getHost()", "example.com:8443"),
        ("url('https://[::1]:8443/').getHostname()", "::1"),
        ("url('https://example.com:8443/').getPort()", "8443"),
        ("url('https://example.com/a%20b').getEscapedPath()", "/a%20b"),
        ("url('https://example.com/?x=1&x=2&y').getQuery()", {"x": ["1", "2"], "y": [""]}),
        ("isURL('/absolute/path') && !isURL('relative/path') && !isURL('has space')", True),
        # lists
        ("[1, 2, 2, 5].isSorted() && !['b', 'a'].isSorted()", True),
        ("[1, 2, 3].sum() + [4, 9].max() + [7, 3].min()", 18),
        ("[1, 2, 1].indexOf(1) * 10 + [1, 2, 1].lastIndexOf(1)", 2),
        ("['a', 'b'].indexOf('z')", -1),
        # strings and regex
        ("'abcabc'.indexOf('c') * 10 + 'abcabc'.lastIndexOf('c')", 25),
        ("'a,b,c'.split(',').join('-')", "a-b-c"),
        ("'MiXed'.lowerAscii() + 'MiXed'.upperAscii()", "mixedMIXED"),
        ("' pad '.trim().replace('a', 'o') + 'hello'.substring(1, 3)", "podel"),
        ("'abc123def45'.find('[0-9]+')", "123"),
        ("'abc123def45'.findAll('[0-9]+')", ["123", "45"]),
        ("'a1b2c3'.findAll('[0-9]', 2)", ["1", "2"]),
        ("'x'.find('[0-9]')", ""),
        (
            "'%s has %d replicas (%.1f%%)'.format([object.metadata.name, object.spec.replicas, 99.5])",
            "web has 3 replicas (99.5%)",
        ),
        ("'%s'.format([[1, 'a', true, null]])", "[1, a, true, null]"),
        ("'%x/%o/%b'.format([255, 8, 5])", "ff/10/101"),
        # ip / cidr
        ("cidr('10.0.0.0/8').containsIP(ip('10.1.2.3')) && !cidr('10.0.0.0/8').containsIP('11.0.0.1')", True),
        ("cidr('10.0.0.0/8').containsCIDR(cidr('10.1.0.0/16')) && cidr('10.1.2.0/24').prefixLength() == 24", True),
        ("isIP('::1') && ip('::1').isLoopback() && ip('1.2.3.4').family() == 4 && !isIP('1.2.3')", True),
        ("isCIDR('192.168.0.0/16') && !isCIDR('192.168.0.0')", True),
        # core extensions kept from cel.stdlib
        ("math.greatest([3, 1, 2]) + size([1, 2].distinct())", 5),
        ("sets.contains([1, 2, 3], [2, 3])", True),
    ],
)
def test_expressions(source: str, expected: Any) -> None:
    assert run(source, object=DEPLOYMENT) == expected


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    [
        ("object.spec.replicas >", "Syntax error", 1, 23),
        ("object.metadata.?labels", "unsupported syntax '.?'", 1, 16),
        ("true &&\n  noSuchFunction(object)", "undeclared function 'noSuchFunction'", 2, 3),
        ("object.spec.foo(1)", "undeclared function 'foo'", 1, 13),
    ],
)
def test_compile_errors_name_where_and_position(source: str, message: str, line: int, column: int) -> None:
    with pytest.raises(CelCompileError) as info:
        compile_expression(source, where="team.yaml: check CUS-001 spec.validations[0].expression")
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert message in err.message
    assert str(err).startswith(
        f"team.yaml: check CUS-001 spec.validations[0].expression: line {line}, column {column}: "
    )


def test_a_parser_error_in_rusts_debug_form_shows_only_its_message() -> None:
    """Nesting past the parser's limit came out as ``OtherError(ParseError { source: None, pos:
    (96, -1), msg: "Recursion limit of 96 exceeded", … })``."""
    with pytest.raises(CelCompileError) as info:
        compile_expression("(" * 100 + "true" + ")" * 100, where="deep.yaml")
    assert info.value.message == "Syntax error: Recursion limit of 96 exceeded"
    assert "ParseError" not in str(info.value) and "source_info" not in str(info.value)


def test_empty_and_oversized_expressions_are_refused() -> None:
    with pytest.raises(CelCompileError, match="empty"):
        compile_expression("  ", where="w")
    with pytest.raises(CelCompileError, match="at most"):
        compile_expression("1 + " * 6000 + "1", where="w")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("object.spec.missing > 1", "no such key: missing"),
        ("1 / 0", "division by zero"),
        ("quantity('lots')", "quantity(): invalid quantity 'lots'"),
        ("url('not a url')", "url(): URL parse error"),
        ("lists.range(10000000).size()", "more than 100000 elements"),
        ("object.metadata.name + 1", "Unsupported operation: string + int"),
    ],
)
def test_evaluation_errors_are_readable(source: str, message: str) -> None:
    with pytest.raises(CelEvaluationError) as info:
        run(source, object=DEPLOYMENT)
    assert message in str(info.value)
    assert "Check that the variable" not in str(info.value) and "Traceback" not in str(info.value)


def test_a_program_is_handed_only_the_fields_it_reads() -> None:
    program = compile_expression(
        "has(object.metadata.labels) && object.spec.template.spec.containers.all(c, c.name != '') "
        "&& size(params) > 0 && object.metadata.labels.team == 'shop'",
        where="w",
    )
    tree = program.paths["object"]
    # Of each container, only the name is read (the macro's variable); of the labels, the team
    # (has() reads only whether the labels are there).
    assert tree == {
        "metadata": {"labels": {"team": WHOLE}},
        "spec": {"template": {"spec": {"containers": {EACH: {"name": WHOLE}}}}},
    }
    assert program.paths["params"] is WHOLE
    projected = project(DEPLOYMENT, tree)
    assert "apiVersion" not in projected and "replicas" not in projected["spec"]
    assert projected["metadata"] == {"labels": {"team": "shop"}}
    assert program.evaluate({"object": DEPLOYMENT, "params": {"x": 1}}) is True


@pytest.mark.parametrize(
    "source",
    [
        "object.metadata.labels['team'] == 'shop'",  # an index reads the map whole
        "object.metadata.labels.exists(k, k == 'team')",
        "'team' in object.metadata.labels",
        "[object].exists(o, o.metadata.labels.team == 'shop')",  # the object passed whole
        "has(object.metadata.labels.team) && \"object.spec\" != ''",  # a string is no reference
        # Macros: the elements are projected onto what the macro's variable reads ...
        "object.spec.template.spec.containers.all(c, c.image.contains(':') && !has(c.securityContext))",
        "object.spec.template.spec.containers.map(c, c.ports.map(p, p.containerPort)) == [[80, 81], [9000]]",
        "object.spec.template.spec.containers.exists_one(c, c.name == 'side') && "
        "object.spec.template.spec.containers.size() == 2",
        # ... and a filter's result keeps what is read of it afterwards, or stays whole.
        "object.spec.template.spec.containers.filter(c, c.name == 'side').map(c, c.image) == ['busybox:1.36']",
        "object.spec.template.spec.containers.filter(c, c.name == 'side')[0].image == 'busybox:1.36'",
        "object.spec.template.spec.containers.filter(c, has(c.ports))"
        ".all(c, c.ports.exists(p, p.containerPort == 9000) || c.name == 'app')",
        "[object.spec.template.spec.containers.filter(c, c.name == 'app')][0][0].image == 'nginx:1.27'",
        "object.spec.template.spec.containers.all(c, c.all(k, k != 'bogus'))",  # an element iterated as a map
    ],
)
def test_projection_never_changes_a_verdict(source: str) -> None:
    obj = {
        **DEPLOYMENT,
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}, {"containerPort": 81}]},
                        {"name": "side", "image": "busybox:1.36", "ports": [{"containerPort": 9000}]},
                    ]
                }
            }
        },
    }
    program = compile_expression(source, where="w")
    full = compile_expression(source, where="w")._compiled.execute({"object": obj})
    assert program.evaluate({"object": obj}) is full is True


def test_fixed_values_are_projected_once_and_shared() -> None:
    objects = {"PodDisruptionBudget": [{"metadata": {"name": "web"}}], "Pod": [{"metadata": {"name": "p"}}] * 3}
    program = compile_expression(
        "objects.PodDisruptionBudget.exists(p, p.metadata.name == object.metadata.name)", where="w"
    )
    env = Environment({"objects": objects}, programs=[program])
    assert program.evaluate({"object": DEPLOYMENT}, env) is True
    assert program.evaluate({"object": {**DEPLOYMENT, "metadata": {"name": "api"}}}, env) is False
    # Only the kind the expression names was handed over.
    with pytest.raises(CelEvaluationError, match="no such key: Pod"):
        compile_expression("size(objects.Pod) > 0 && objects.Pod[0] != null", where="w").evaluate({}, env)
