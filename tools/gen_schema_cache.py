#!/usr/bin/env python3
"""Write ``checks/data/schema-reduced/``: the newest bundled Kubernetes schemas, already reduced.

kwa reduces ``kubernetes-validate``'s definitions twice before it judges an object: to field
types for the input boundary (:mod:`checks.schema_bundles`) and to the strict form OPS-012
validates against (:mod:`checks.schema_strict`). Each reduction is kept in the user's cache after
the first run, but every CI job starts in a new home and would pay it again (~0.15 s). This script
writes both reductions of the newest bundled version, compressed, into the package; each file is
named by the bundle, a checksum of its definitions and the reducing module's own tag, so kwa
uses a shipped file only when all three match what is installed, and reduces as before otherwise.

A test (``tests/checks/test_schema_shipped.py``) fails when the shipped files differ from what this
script writes: run it after changing either module, the curated enums or the
``kubernetes-validate`` pin.

Usage: ``python tools/gen_schema_cache.py [--check]`` (``--check`` writes nothing, exits 1 when stale).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from checks import schema_bundles, schema_strict  # noqa: E402


def reductions() -> dict[str, bytes]:
    """``{shipped file name: compressed reduced form}`` for the newest bundled version."""
    from checks.schema import SchemaLibrary
    from checks.schema_strict import StrictLibrary

    shipped, schema_bundles.SHIPPED_DIR = schema_bundles.SHIPPED_DIR, Path("/nonexistent-kwa-shipped")
    saved = os.environ.get("XDG_CACHE_HOME")
    out: dict[str, bytes] = {}
    try:
        with tempfile.TemporaryDirectory() as cache:
            os.environ["XDG_CACHE_HOME"] = cache  # reduce afresh, and find what each wrote
            boundary = SchemaLibrary().bundles[0]
            boundary.root_for("apps", "v1", "Deployment")
            strict, _ = StrictLibrary().choose(None)
            if strict is None:
                raise SystemExit("kubernetes-validate ships no schemas: nothing to reduce")
            strict.root_for("apps/v1", "Deployment")
            for path, tag, written in (
                (boundary.path, schema_bundles._SOURCE_TAG, schema_bundles._cache_file(boundary.path)),
                (strict.path, schema_strict._SOURCE_TAG, schema_strict._cache_file(strict.path)),
            ):
                name = schema_bundles.shipped_name(path, tag)
                if name is None or written is None or not written.is_file():
                    raise SystemExit(f"could not reduce {path}")
                out[name] = written.read_bytes()
    finally:
        schema_bundles.SHIPPED_DIR = shipped
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved
    return out


def stale(wanted: dict[str, bytes], directory: Path) -> list[str]:
    """What differs between ``wanted`` (uncompressed) and the files in ``directory``."""
    have = {p.name: p for p in directory.glob("*.json.z")} if directory.is_dir() else {}
    problems = [f"missing {n}" for n in wanted if n not in have]
    problems += [f"not written by this script: {n}" for n in have if n not in wanted]
    for name, data in wanted.items():
        if name in have and zlib.decompress(have[name].read_bytes()) != data:
            problems.append(f"out of date: {name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the shipped files are stale")
    args = parser.parse_args(argv)
    wanted = reductions()
    directory = schema_bundles.SHIPPED_DIR
    problems = stale(wanted, directory)
    if args.check:
        for line in problems:
            print(line, file=sys.stderr)
        return 1 if problems else 0
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.json.z"):
        if old.name not in wanted:
            old.unlink()
    for name, data in wanted.items():
        (directory / name).write_bytes(zlib.compress(data, 9))
    print(f"{len(wanted)} reductions in {directory.relative_to(ROOT)}: {', '.join(sorted(wanted))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
