"""The cluster id a manifests run keeps its history under, derived from what it reads.

Every ``--manifests`` run used to be kept under the one id ``manifests``, so ``diff`` compared
argo-cd with an unrelated corpus. The id now names the input, stably (the same input gives the
same id from any working directory, on any clone):

* inside a git repository: the repository, then the path within it (``:`` between them):
  ``github.com/argoproj/argo-cd:manifests/install.yaml``. The repository is its ``origin``
  remote (else its first remote) normalised to ``host/path`` — scheme, user, password or token,
  port and ``.git`` dropped, so an https and an ssh clone of one repository agree and a CI
  token in the remote URL never becomes part of an id. Without a usable remote: the name of
  the repository's top-level directory (``argo-cd:manifests``).
* outside a repository: the directory's or file's name (``corpus``, ``install.yaml``);
* several paths: their common directory, named by the same rules; paths with nothing in common
  but the filesystem root: each one's id, joined with ``+``;
* stdin alone: ``stdin``; a pipe given as a path (``<(helm template …)``, whose ``/dev/fd/N``
  name changes every time) alone: ``pipe``; files and streams together: the files' id.

The git metadata is read from the files (``.git``, ``commondir``, ``config``), never by running
``git``: no subprocess, no dependency on git being installed, and no "dubious ownership" refusal
for a checkout owned by another user (a CI container's bind mount). ``--cluster-id`` overrides
all of this for any source.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

STDIN = "-"
STDIN_ID = "stdin"
PIPE_ID = "pipe"
_REMOTE = re.compile(r'^\s*\[\s*remote\s+"(?P<name>(?:[^"\\]|\\.)*)"\s*\]\s*$')
_SECTION = re.compile(r"^\s*\[")
_URL = re.compile(r"^\s*url\s*=\s*(?P<value>.*?)\s*$", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")  # git@github.com:org/repo
_MAX_CONFIG_BYTES = 1 << 20  # a git config is a few KiB; a huge file is not one


def manifests_cluster_id(paths: Iterable[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """The id for manifests read from ``paths`` (``-`` is stdin), relative to ``cwd``."""
    given = list(paths)
    base = Path(cwd) if cwd is not None else Path.cwd()
    streams = [p for p in given if p == STDIN or _is_stream(p, base)]
    files = [_absolute(p, base) for p in given if p not in streams]
    if not files:
        return STDIN_ID if STDIN in streams or not streams else PIPE_ID
    common = _common(files)
    if common is not None:
        return _path_id(common)
    return "+".join(dict.fromkeys(_path_id(f) for f in files))


def _is_stream(path: str, base: Path) -> bool:
    """A FIFO or character device (process substitution, /dev/stdin): no stable name to keep."""
    p = Path(path).expanduser()
    try:
        mode = (p if p.is_absolute() else base / p).stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _absolute(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    p = p if p.is_absolute() else base / p
    try:
        return p.resolve()  # symlinks too: a linked checkout names the repository it points into
    except (OSError, RuntimeError):  # a symlink loop: the path as given still names the input
        return Path(os.path.normpath(p))


def _common(files: list[Path]) -> Path | None:
    """The deepest directory (or the one file) every path is in; None when that is only the root."""
    if len(set(files)) == 1:
        return files[0]
    try:
        common = Path(os.path.commonpath([str(f) for f in files]))
    except ValueError:  # different drives (Windows)
        return None
    return None if common == Path(common.anchor) else common


def _path_id(path: Path) -> str:
    found = _repository(path)
    if found is None:
        return path.name or str(path)
    top, name = found
    try:
        inner = path.relative_to(top).as_posix()
    except ValueError:
        inner = "."
    return name if inner in ("", ".") else f"{name}:{inner}"


def _repository(path: Path) -> tuple[Path, str] | None:
    """``(top-level directory, repository name)`` of the git repository holding ``path``."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        marker = folder / ".git"
        try:
            if marker.is_dir():
                git_dir = marker
            elif marker.is_file():
                git_dir = _linked_git_dir(marker)
                if git_dir is None:
                    continue
            else:
                continue
        except OSError:
            continue
        remote = _remote_url(_common_dir(git_dir) / "config")
        return folder, (normalise_remote(remote) if remote else None) or folder.name or str(folder)
    return None


def _linked_git_dir(marker: Path) -> Path | None:
    """A worktree's or submodule's ``.git`` file: ``gitdir: <path>``."""
    try:
        text = marker.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("gitdir:"):
            target = Path(line.removeprefix("gitdir:").strip())
            return target if target.is_absolute() else (marker.parent / target)
    return None


def _common_dir(git_dir: Path) -> Path:
    """Where a linked worktree keeps the repository's shared config (``commondir``)."""
    try:
        common = (git_dir / "commondir").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return git_dir
    target = Path(common)
    return target if target.is_absolute() else git_dir / target


def _remote_url(config: Path) -> str | None:
    """``remote.origin.url``, else the first remote's url, from a git config file."""
    try:
        if config.stat().st_size > _MAX_CONFIG_BYTES:
            return None
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    urls: dict[str, str] = {}
    remote: str | None = None
    for line in text.splitlines():
        header = _REMOTE.match(line)
        if header:
            remote = header.group("name")
            continue
        if _SECTION.match(line):
            remote = None
            continue
        value = _URL.match(line)
        if remote is not None and value and remote not in urls:
            urls[remote] = value.group("value").strip('"')
    return urls.get("origin") or next(iter(urls.values()), None)


def normalise_remote(url: str) -> str | None:
    """``host/path`` of a remote URL, lower-case host, no scheme, credentials, port or ``.git``.

    ``https://x-access-token:ghs_…@github.com/Org/Repo.git`` and ``git@github.com:Org/Repo`` both
    give ``github.com/Org/Repo``. A local path or ``file://`` remote names no shared repository:
    None (the caller then uses the top-level directory's name).
    """
    url = url.strip()
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    if sep:
        if scheme.lower() == "file":
            return None
        authority, _, path = rest.partition("/")
        host = authority.rpartition("@")[2]  # user[:password]@ dropped
        host = _strip_port(host)
    else:
        scp = _SCP_LIKE.match(url)
        if scp is None or "/" in scp.group("host"):
            return None  # a local path (/srv/git/repo.git, ../repo)
        host, path = scp.group("host"), scp.group("path")
    path = path.strip("/")
    path = path[: -len(".git")] if path.lower().endswith(".git") else path
    path = path.rstrip("/")
    host = host.lower().strip("[]")
    if not host:
        return None
    return f"{host}/{path}" if path else host


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [::1]:22
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]


__all__ = ["PIPE_ID", "STDIN_ID", "manifests_cluster_id", "normalise_remote"]
