"""The cluster id a manifests run is kept under, derived from its input (checks.sources.naming)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from checks.sources.naming import manifests_cluster_id, normalise_remote
from checks.sources.resolve import SourceSpec

TOKEN = "ghs_s3cr3tTokenThatMustNotLeak"


def make_repo(top: Path, remote: str | None = None, extra_remote: str | None = None) -> Path:
    """A git repository as git lays it out (the parts naming reads): .git/config with remotes."""
    (top / ".git").mkdir(parents=True)
    lines = ["[core]", "\trepositoryformatversion = 0", "\tbare = false"]
    if extra_remote:
        lines += ['[remote "upstream"]', f"\turl = {extra_remote}", "\tfetch = +refs/heads/*:refs/remotes/upstream/*"]
    if remote:
        lines += ['[remote "origin"]', f"\turl = {remote}", "\tfetch = +refs/heads/*:refs/remotes/origin/*"]
    lines += ['[branch "main"]', "\tremote = origin", "\turl = not-a-remote-url"]
    (top / ".git" / "config").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return top


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/argoproj/argo-cd.git", "github.com/argoproj/argo-cd"),
        ("git@github.com:argoproj/argo-cd.git", "github.com/argoproj/argo-cd"),
        ("ssh://git@GitHub.com:22/argoproj/argo-cd.git/", "github.com/argoproj/argo-cd"),
        (f"https://x-access-token:{TOKEN}@github.com/org/repo", "github.com/org/repo"),
        (f"https://oauth2:{TOKEN}@gitlab.example.com:8443/group/sub/repo.git", "gitlab.example.com/group/sub/repo"),
        ("/srv/git/repo.git", None),
        ("../sibling", None),
        ("file:///srv/git/repo.git", None),
        ("", None),
    ],
)
def test_remote_urls_are_normalised_without_credentials(url: str, expected: str | None) -> None:
    got = normalise_remote(url)
    assert got == expected
    assert TOKEN not in (got or "")


def test_a_directory_in_a_git_repository_is_named_by_remote_and_path(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "checkout", f"https://ci:{TOKEN}@github.com/argoproj/argo-cd.git")
    (repo / "manifests" / "base").mkdir(parents=True)
    (repo / "manifests" / "install.yaml").write_text("kind: List\n")

    assert manifests_cluster_id(["manifests"], cwd=repo) == "github.com/argoproj/argo-cd:manifests"
    assert manifests_cluster_id([str(repo / "manifests" / "install.yaml")]) == (
        "github.com/argoproj/argo-cd:manifests/install.yaml"
    )
    # the same input from another working directory, and the repository's root itself
    assert manifests_cluster_id([".."], cwd=repo / "manifests" / "base") == (
        "github.com/argoproj/argo-cd:manifests"
    )
    assert manifests_cluster_id(["."], cwd=repo) == "github.com/argoproj/argo-cd"


def test_an_ssh_and_an_https_clone_of_one_repository_agree(tmp_path: Path) -> None:
    a = make_repo(tmp_path / "a", "git@github.com:org/deploy.git")
    b = make_repo(tmp_path / "b", "https://github.com/org/deploy")
    for top in (a, b):
        (top / "k8s").mkdir()
    expected = "github.com/org/deploy:k8s"
    assert manifests_cluster_id([str(a / "k8s")]) == manifests_cluster_id([str(b / "k8s")]) == expected


def test_origin_wins_over_other_remotes_and_without_one_the_first_remote_counts(tmp_path: Path) -> None:
    both = make_repo(tmp_path / "both", "https://github.com/me/fork", extra_remote="https://github.com/them/upstream")
    only = make_repo(tmp_path / "only", None, extra_remote="https://github.com/them/upstream")
    assert manifests_cluster_id([str(both)]) == "github.com/me/fork"
    assert manifests_cluster_id([str(only)]) == "github.com/them/upstream"


def test_without_a_usable_remote_the_top_level_directory_names_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "platform-config", "/srv/git/platform-config.git")
    (repo / "apps" / "shop").mkdir(parents=True)
    assert manifests_cluster_id([str(repo / "apps" / "shop")]) == "platform-config:apps/shop"
    bare = make_repo(tmp_path / "no-remote")
    assert manifests_cluster_id([str(bare)]) == "no-remote"


def test_a_linked_worktree_reads_the_shared_config(tmp_path: Path) -> None:
    main = make_repo(tmp_path / "main", "https://github.com/org/infra.git")
    admin = main / ".git" / "worktrees" / "feature"
    admin.mkdir(parents=True)
    (admin / "commondir").write_text("../..\n")
    tree = tmp_path / "feature"
    (tree / "deploy").mkdir(parents=True)
    (tree / ".git").write_text(f"gitdir: {admin}\n")
    assert manifests_cluster_id([str(tree / "deploy")]) == "github.com/org/infra:deploy"


@pytest.mark.skipif(not any((Path(p) / "git").exists() for p in os.environ.get("PATH", "").split(":")), reason="no git")
def test_a_repository_made_by_git_itself(tmp_path: Path) -> None:
    repo = tmp_path / "real"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    remote = ["git", "-C", str(repo), "remote", "add", "origin", "git@gitlab.com:team/charts.git"]
    subprocess.run(remote, check=True, env=env)
    (repo / "charts" / "web").mkdir(parents=True)
    assert manifests_cluster_id([str(repo / "charts" / "web")]) == "gitlab.com/team/charts:charts/web"


def test_outside_a_repository_the_directory_or_file_name(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "argo-cd").mkdir(parents=True)
    (corpus / "one.yaml").write_text("")
    assert manifests_cluster_id([str(corpus)]) == "corpus"
    assert manifests_cluster_id([str(corpus / "one.yaml")]) == "one.yaml"
    # several inputs: their common directory
    assert manifests_cluster_id([str(corpus / "argo-cd"), str(corpus / "one.yaml")]) == "corpus"
    # the same path twice, or with a trailing slash, is still that path
    assert manifests_cluster_id([f"{corpus}/", str(corpus)]) == "corpus"


def test_inputs_with_only_the_root_in_common_are_joined(tmp_path: Path) -> None:
    assert manifests_cluster_id(["/usr/share", str(tmp_path)]) == f"share+{tmp_path.name}"


def test_stdin_and_pipes(tmp_path: Path) -> None:
    assert manifests_cluster_id(["-"]) == "stdin"
    read, write = os.pipe()
    try:
        assert manifests_cluster_id([f"/dev/fd/{read}"]) == "pipe"  # <(helm template …)
        (tmp_path / "k8s").mkdir()
        assert manifests_cluster_id(["-", str(tmp_path / "k8s")]) == "k8s"  # files name it
    finally:
        os.close(read)
        os.close(write)


def test_a_symlinked_checkout_names_the_repository_it_points_into(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "https://github.com/org/apps")
    (repo / "k8s").mkdir()
    (tmp_path / "link").symlink_to(repo / "k8s")
    assert manifests_cluster_id([str(tmp_path / "link")]) == "github.com/org/apps:k8s"


def test_the_source_spec_uses_it_and_other_sources_keep_theirs(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    assert SourceSpec("manifests", paths=["shop"]).default_cluster_id(cwd=str(tmp_path)) == "shop"
    assert SourceSpec("manifests", paths=["-"]).default_cluster_id() == "stdin"
    assert SourceSpec("demo").default_cluster_id() == "demo-prod"
    assert SourceSpec("live", context="prod-eu-1").default_cluster_id() == "prod-eu-1"
