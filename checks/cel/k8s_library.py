"""The Kubernetes CEL library functions the CEL implementation lacks, as plain Python functions.

The Rust ``cel`` crate implements the CEL core, and ``cel.stdlib`` adds the cel-go string, list,
math, sets and encoder extensions (``split``, ``join``, ``lowerAscii``, ``sum``, ``min``, ...).
What Kubernetes adds on top (https://kubernetes.io/docs/reference/using-api/cel/) is here: the
quantity, URL and IP/CIDR libraries, the list library's ``isSorted`` and list ``indexOf`` /
``lastIndexOf``, the regex library's ``find`` / ``findAll`` and ``format``. Every function can be
called as a method (``"1Gi".quantity()`` is ``quantity("1Gi")``; CEL treats ``x.f(a)`` as
``f(x, a)``).

A quantity, URL, IP or CIDR value cannot be a native CEL type here, so it is a one-key map
(``{"kwa.quantity": "3/2"}``; the value is the exact number, so ``==`` compares amounts, as
Kubernetes does). Expressions only ever see them through the functions below.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import urllib.parse
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from cel import stdlib

QUANTITY, URL, IP, CIDR = "kwa.quantity", "kwa.url", "kwa.ip", "kwa.cidr"
# What one call may build: keeps a pathological expression from exhausting memory before the
# check's hard timeout ends it.
MAX_RANGE = 100_000
INT64 = 2**63

_SUFFIX = {
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3), "": Fraction(1), "k": Fraction(10**3), "M": Fraction(10**6),
    "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18),
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")


# -- quantity ---------------------------------------------------------------------------------------


def parse_quantity(text: Any) -> Fraction:
    match = _QUANTITY.match(str(text).strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid quantity {text!r} (like 500m, 2Gi, 1.5, 1e3)")
    number, suffix = Fraction(match.group(1)), match.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Fraction(10) ** int(suffix[1:])
    return number * _SUFFIX[suffix]


def _q(value: Any) -> Fraction:
    if isinstance(value, dict) and QUANTITY in value:
        return Fraction(value[QUANTITY])
    if isinstance(value, bool):
        raise TypeError("expected a quantity, got a bool")
    if isinstance(value, int):
        return Fraction(value)
    raise TypeError(f"expected a quantity, got {type(value).__name__}")


def _wrap_q(value: Fraction) -> dict[str, str]:
    return {QUANTITY: str(value)}


def quantity(text: str) -> dict[str, str]:
    return _wrap_q(parse_quantity(text))


def is_quantity(text: str) -> bool:
    try:
        parse_quantity(text)
    except ValueError:
        return False
    return True


def as_integer(q: Any) -> int:
    value = _q(q)
    if value.denominator != 1 or not -INT64 <= value.numerator < INT64:
        raise ValueError("cannot convert value to integer")
    return value.numerator


def compare_to(a: Any, b: Any) -> int:
    x, y = _q(a), _q(b)
    return (x > y) - (x < y)


# -- URL --------------------------------------------------------------------------------------------


def url(text: str) -> dict[str, str]:
    if not is_url(text):
        raise ValueError(f"URL parse error during conversion from string: {text!r}")
    return {URL: text}


def is_url(text: Any) -> bool:
    """Kubernetes accepts absolute URIs and absolute paths (``https://x/y``, ``/y``)."""
    if not isinstance(text, str) or not text or any(c.isspace() for c in text):
        return False
    try:
        parts = urllib.parse.urlsplit(text)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return bool(parts.scheme) or text.startswith("/")


def _url(value: Any) -> urllib.parse.SplitResult:
    if isinstance(value, dict) and URL in value:
        return urllib.parse.urlsplit(value[URL])
    raise TypeError(f"expected a URL, got {type(value).__name__}")


def get_host(u: Any) -> str:
    return _url(u).netloc.rpartition("@")[2]


def get_hostname(u: Any) -> str:
    host = get_host(u)
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


def get_port(u: Any) -> str:
    host = get_host(u)
    if host.startswith("["):
        return host.partition("]")[2].lstrip(":")
    return host.partition(":")[2]


def get_query(u: Any) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(_url(u).query, keep_blank_values=True)


# -- IP and CIDR ------------------------------------------------------------------------------------


def _ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(value, dict) and IP in value:
        return ipaddress.ip_address(value[IP])
    if isinstance(value, str):
        return ipaddress.ip_address(value)
    raise TypeError(f"expected an IP address, got {type(value).__name__}")


def _cidr(value: Any) -> tuple[Any, ipaddress.IPv4Network | ipaddress.IPv6Network]:
    text = value[CIDR] if isinstance(value, dict) and CIDR in value else value
    if not isinstance(text, str):
        raise TypeError(f"expected a CIDR, got {type(value).__name__}")
    address, _, length = text.partition("/")
    return ipaddress.ip_address(address), ipaddress.ip_network(f"{address}/{length}", strict=False)


def ip(text: Any) -> dict[str, str]:
    if isinstance(text, dict):  # cidr("10.0.0.0/8").ip(), or an IP already
        return {IP: str(_cidr(text)[0])} if CIDR in text else {IP: str(_ip(text))}
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    if "%" in text:
        raise ValueError(f"IP address with zone value is not allowed: {text!r}")
    return {IP: str(ipaddress.ip_address(text))}


def cidr(text: str) -> dict[str, str]:
    if "/" not in text:
        raise ValueError(f"network address parse error: {text!r}")
    _cidr(text)
    return {CIDR: text}


def _valid(parse: Callable[[Any], Any], text: Any) -> bool:
    try:
        parse(text)
    except (ValueError, TypeError):
        return False
    return True


def contains_ip(c: Any, address: Any) -> bool:
    return _ip(address) in _cidr(c)[1]


def contains_cidr(c: Any, other: Any) -> bool:
    mine, theirs = _cidr(c)[1], _cidr(other)[1]
    return theirs.version == mine.version and theirs.subnet_of(mine)  # type: ignore[arg-type]


# -- lists, strings, regex --------------------------------------------------------------------------


def is_sorted(items: list[Any]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(items))


def index_of(target: Any, value: Any, *start: int) -> int:
    if isinstance(target, list):
        for i, item in enumerate(target):
            if item == value and type(item) is type(value):
                return i
        return -1
    return stdlib.index_of(target, value, *start)


def last_index_of(target: Any, value: Any, *start: int) -> int:
    if isinstance(target, list):
        for i in range(len(target) - 1, -1, -1):
            if target[i] == value and type(target[i]) is type(value):
                return i
        return -1
    return stdlib.last_index_of(target, value, *start)


def find(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    return match.group(0) if match else ""


def find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, text)]
    return found if limit < 0 else found[:limit]


def lists_range(n: int) -> list[int]:
    if n > MAX_RANGE:
        raise ValueError(f"lists.range({n}): more than {MAX_RANGE} elements")
    return list(range(n))


_VERB = re.compile(r"%(?:\.(\d+))?([sdfeExXob%])")


def format_string(template: str, args: list[Any]) -> str:
    """``"%s has %d replicas".format([name, n])``: the verbs of Kubernetes' ``format``."""
    values = iter(args)

    def one(match: re.Match[str]) -> str:
        precision, verb = match.group(1), match.group(2)
        if verb == "%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            raise ValueError(f"format: not enough arguments for {template!r}") from None
        if verb == "s":
            return _text(value)
        if verb == "d":
            return str(int(value))
        if verb in "fe":
            return f"{float(value):.{int(precision or 6)}{verb}}"
        if verb == "E":
            return f"{float(value):.{int(precision or 6)}E}"
        return format(int(value), verb)

    return _VERB.sub(one, template)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def functions() -> dict[str, Callable[..., Any]]:
    """Every function an expression may call beyond the CEL core: cel-go's extensions (from
    ``cel.stdlib``) overlaid with the Kubernetes library."""
    table: dict[str, Callable[..., Any]] = dict(stdlib.STDLIB_FUNCTIONS)
    table.update(
        {
            "quantity": quantity,
            "isQuantity": is_quantity,
            "sign": lambda q: compare_to(q, 0),
            "isInteger": lambda q: _q(q).denominator == 1,
            "asInteger": as_integer,
            "asApproximateFloat": lambda q: float(_q(q)),
            "add": lambda a, b: _wrap_q(_q(a) + _q(b)),
            "sub": lambda a, b: _wrap_q(_q(a) - _q(b)),
            "isLessThan": lambda a, b: _q(a) < _q(b),
            "isGreaterThan": lambda a, b: _q(a) > _q(b),
            "compareTo": compare_to,
            "url": url,
            "isURL": is_url,
            "getScheme": lambda u: _url(u).scheme,
            "getHost": get_host,
            "getHostname": get_hostname,
            "getPort": get_port,
            "getEscapedPath": lambda u: _url(u).path,
            "getQuery": get_query,
            "ip": ip,
            "isIP": lambda t: _valid(ip, t),
            "cidr": cidr,
            "isCIDR": lambda t: _valid(cidr, t),
            "family": lambda a: _ip(a).version,
            "isUnspecified": lambda a: _ip(a).is_unspecified,
            "isLoopback": lambda a: _ip(a).is_loopback,
            "isLinkLocalMulticast": lambda a: _ip(a).is_link_local and _ip(a).is_multicast,
            "isLinkLocalUnicast": lambda a: _ip(a).is_link_local and not _ip(a).is_multicast,
            "isGlobalUnicast": lambda a: _ip(a).is_global and not _ip(a).is_multicast,
            "containsIP": contains_ip,
            "containsCIDR": contains_cidr,
            "prefixLength": lambda c: _cidr(c)[1].prefixlen,
            "masked": lambda c: {CIDR: str(_cidr(c)[1])},
            "isSorted": is_sorted,
            "indexOf": index_of,
            "lastIndexOf": last_index_of,
            "find": find,
            "findAll": find_all,
            "format": format_string,
            "lists.range": lists_range,
        }
    )
    return table
