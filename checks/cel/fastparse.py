"""A parser for the subset of CEL that :mod:`checks.cel.fast` evaluates in Python.

It reads an expression into a small tree of tuples, or raises :class:`Unsupported` for anything
outside the subset (the expression then runs on the Rust evaluator only). The subset is the
everyday grammar of Kubernetes checks: literals (decimal ints, plain strings, bools, null, list
literals), identifiers, field selection, indexing, calls and method calls, ``! - && || ? :``,
comparisons, ``in``, ``+`` and binary ``-``. Not in it: floats, ``u``/hex/byte/raw/triple-quoted
literals, map literals, ``* / %``, the optional syntax ``.?``/``[?``, message construction.

Being a strict subset matters more than being complete: the Rust library has already accepted the
expression (checks.cel.engine compiles it first), so any input this parser accepts parses the
same way there; when in doubt it refuses.

Nodes: ``("lit", value)``, ``("id", name)``, ``("list", [nodes])``, ``("select", node, field)``,
``("index", node, node)``, ``("call", name, [args])``, ``("method", node, name, [args])``,
``("unary", op, node)``, ``("binary", op, node, node)``, ``("cond", node, node, node)``.
"""

from __future__ import annotations

import re
from typing import Any

Node = tuple[Any, ...]

_TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|(?P<num>[0-9][A-Za-z0-9_.]*)
    |(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>&&|\|\||==|!=|<=|>=|[-+!<>?:.,()\[\]])|(?P<bad>.)""",
    re.X | re.S,
)
_ESCAPES = {"\\\\": "\\", "\\'": "'", '\\"': '"', "\\n": "\n", "\\t": "\t", "\\r": "\r"}
_RESERVED = frozenset(
    [
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ]
)
INT64 = 1 << 63
# Binding power of each binary operator (CEL's precedence: || < && < relations < + -).
_BINARY = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3, "+": 4, "-": 4}


class Unsupported(Exception):
    """The expression is outside the fast subset."""


def tokens(source: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(source):
        kind = m.lastgroup or "bad"
        if kind == "ws":
            continue
        if kind == "bad":
            raise Unsupported(f"character {m.group()!r}")
        out.append((kind, m.group()))
    return out


def _string(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\":
            pair = body[i : i + 2]
            if pair not in _ESCAPES:
                raise Unsupported(f"escape {pair!r}")
            out.append(_ESCAPES[pair])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, source: str) -> None:
        self.toks = tokens(source)
        self.i = 0

    def peek(self, ahead: int = 0) -> str | None:
        j = self.i + ahead
        return self.toks[j][1] if j < len(self.toks) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise Unsupported("unexpected end")
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise Unsupported(f"expected {expected!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def expression(self) -> Node:
        cond = self.binary(1)
        if self.peek() != "?":
            return cond
        self.take("?")
        then = self.binary(1)
        self.take(":")
        return ("cond", cond, then, self.expression())

    def binary(self, min_power: int) -> Node:
        left = self.unary()
        while True:
            op = self.peek()
            power = _BINARY.get(op) if op is not None and self.toks[self.i][0] in ("op", "id") else None
            if power is None or power < min_power:
                return left
            self.take()
            # Relations do not chain in CEL's grammar the way Python's do: left-associative here
            # and in cel-rust alike; && and || are associative, so the grouping never matters.
            right = self.binary(power + 1)
            left = ("binary", op, left, right)

    def unary(self) -> Node:
        op = self.peek()
        if op == "!":
            self.take()
            return ("unary", "!", self.unary())
        if op == "-":
            self.take()
            if self.i < len(self.toks) and self.toks[self.i][0] == "num":
                return self.member(("lit", self.number(negative=True)))
            return ("unary", "-", self.unary())
        return self.member(self.primary())

    def number(self, negative: bool = False) -> int:
        _, text = self.take()
        if not text.isdigit() or not text.isascii():
            raise Unsupported(f"number {text!r}")
        value = -int(text) if negative else int(text)
        if not -INT64 <= value < INT64:
            raise Unsupported("int literal out of range")
        return value

    def member(self, node: Node) -> Node:
        while True:
            tok = self.peek()
            if tok == ".":
                self.take()
                kind, name = self.take()
                if kind != "id":
                    raise Unsupported(f"after '.': {name!r}")
                if self.peek() == "(":
                    node = ("method", node, name, self.arguments())
                else:
                    node = ("select", node, name)
            elif tok == "[":
                self.take()
                if self.peek() == "?":
                    raise Unsupported("optional index")
                index = self.expression()
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def arguments(self) -> list[Node]:
        self.take("(")
        args: list[Node] = []
        while self.peek() != ")":
            args.append(self.expression())
            if self.peek() != ")":
                self.take(",")
        self.take(")")
        return args

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "str":
            return ("lit", _string(text))
        if kind == "num":
            self.i -= 1
            return ("lit", self.number())
        if kind == "id":
            if text in ("true", "false"):
                return ("lit", text == "true")
            if text == "null":
                return ("lit", None)
            if text in _RESERVED or text == "in":
                raise Unsupported(f"reserved word {text!r}")
            if self.peek() == "(":
                return ("call", text, self.arguments())
            return ("id", text)
        if text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if text == "[":
            items: list[Node] = []
            while self.peek() != "]":
                items.append(self.expression())
                if self.peek() != "]":
                    self.take(",")
            self.take("]")
            return ("list", items)
        raise Unsupported(f"token {text!r}")


def parse(source: str) -> Node:
    """The expression's tree; :class:`Unsupported` when any part is outside the subset."""
    parser = _Parser(source)
    node = parser.expression()
    if parser.i != len(parser.toks):
        raise Unsupported(f"trailing {parser.toks[parser.i][1]!r}")
    return node
