"""The repository explains itself: the check catalogue matches the registry, every link into docs/
lands on a heading or anchor that exists, and nothing points outside the repository."""

from __future__ import annotations

import os
import re
from pathlib import Path

from checks.registry import is_builtin, load_all

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP_DIRS = {".venv", ".git", "node_modules", "build", "dist", "__pycache__"}

# A reference into the docs from code, config or prose: docs/lifecycle.md#dedup.
DOC_REF = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
# A Markdown link relative to the linking file: [text](lifecycle.md#dedup), [text](../README.md#x).
MD_LINK = re.compile(r"\]\(((?:\.\./|\./)?[\w./-]+\.md)(?:#([\w-]+))?\)")
# What a clone does not have: the project's working notes and the sibling directory they live in.
OUTSIDE = re.compile(r"(?i)\bseeds?:? 0\d\d|catalogue §|§\s?\d|\.\./shared\b")


def _files(*suffixes: str) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]  # prune, never descend
        found += [Path(folder, n) for n in names if Path(n).suffix in suffixes]
    return sorted(found)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found = set(re.findall(r'<a id="([\w-]+)"></a>', text))
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = _slug(heading)
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


def test_the_catalogue_specifies_every_registered_check() -> None:
    text = (DOCS / "catalogue.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^### ([A-Z]+-\d{3}) — (.+)$", text, re.M))
    # kwa's own checks: a test that registered a temporary one in this process must not count
    registry = {c.id: c for c in load_all(include_plugins=False).all() if is_builtin(c)}
    assert set(documented) == set(registry), (
        f"in the registry only: {sorted(set(registry) - set(documented))}; "
        f"in docs/catalogue.md only: {sorted(set(documented) - set(registry))}"
    )
    for check_id, check in registry.items():
        assert documented[check_id] == check.name, check_id
        tags = re.search(rf'<a id="{check_id.lower()}"></a>\s+### .+\n\s*\*([^*]+)\*', text)
        assert tags is not None, f"{check_id}: no anchor or tag line in docs/catalogue.md"
        severity, mode = (t.strip() for t in tags.group(1).split("·")[:2])
        assert (severity, mode) == (check.severity.value, check.mode.value), check_id


def test_every_link_into_the_docs_resolves() -> None:
    broken = []
    for path in _files(".py", ".md", ".toml", ".yaml", ".yml"):
        text = path.read_text(encoding="utf-8", errors="replace")
        refs = [(DOCS / name, anchor) for name, anchor in DOC_REF.findall(text)]
        if path.is_relative_to(ROOT / "tests"):
            # Tests register temporary checks (OPS-951, OPS-990) whose docs_url has no page to point at.
            refs = [(target, anchor) for target, anchor in refs if target.name != "checks.md"]
        if path.suffix == ".md":
            refs += [((path.parent / target).resolve(), anchor) for target, anchor in MD_LINK.findall(text)]
        for target, anchor in refs:
            if not target.is_file():
                broken.append(f"{path.relative_to(ROOT)}: {target.name} does not exist")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                broken.append(f"{path.relative_to(ROOT)}: {target.name}#{anchor} is no heading or anchor")
    assert not broken, "\n".join(sorted(set(broken)))


def test_readme_and_docs_refer_to_nothing_outside_the_repository() -> None:
    hits = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
        if p.name != "checks.md"  # generated from the check docstrings: see the test below
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits, "\n".join(hits)


def test_the_readme_speaks_to_users_not_to_the_project_history() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.findall(r"\bissues? #?\d+", text, re.I)


def test_code_refers_to_nothing_outside_the_repository() -> None:
    hits = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in [*_files(".py"), DOCS / "checks.md"]
        if "tests" not in p.relative_to(ROOT).parts[:1]
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits, "\n".join(hits)


# A repository path written in prose: checks/sandbox.py, tests/checks/fixtures/, deploy/kubernetes/…
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:checks|flows|storage|cli|kwa|redaction|bench|tools|tests|scripts|deploy|docs)"
    r"/[\w./-]*[\w/])(?![\w(<])"
)


def test_every_repository_path_the_docs_name_exists() -> None:
    """A file or folder named in the README or docs/ exists: moving code means updating its docs."""
    missing = []
    for doc in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for path in REPO_PATH.findall(line):
                if not re.search(r"\.\w+$|/$", path) or "<" in line[line.find(path) + len(path) :][:1]:
                    continue  # a schema or object name (kwa/v1, deploy/kwa-worker) or a pattern (…/<ID>/)
                if not (ROOT / path.rstrip(".")).exists():
                    missing.append(f"{doc.relative_to(ROOT)}:{n}: {path}")
    assert not missing, "\n".join(missing)
