"""Which git directory a workspace that is a linked worktree gets mounted, with real git on the host:
only what git made checks out; whatever the agent could plant mounts nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from berth.git_worktree import linked_worktree


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    main = tmp_path / "my répo"
    main.mkdir()
    git(main, "init", "-q", "--initial-branch=main")
    git(main, "commit", "-q", "--allow-empty", "-m", "first")
    return main


def test_a_worktree_git_made_gets_its_repositorys_git_directory(repo, tmp_path):
    worktree = tmp_path / "feature wt"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(worktree))
    found = linked_worktree(str(worktree))
    assert found is not None
    common = str(repo / ".git")
    assert (found.common, found.admin) == (common, f"{common}/worktrees/feature-wt")  # git sanitises the name
    # Read-only but for what a commit writes; its config and hooks stay the user's.
    assert found.mounts() == [(common, True), (f"{common}/objects", False),
                              (f"{common}/refs", False), (f"{common}/logs", False),
                              (found.admin, False)]
    git(repo, "config", "extensions.worktreeConfig", "true")
    assert found.mounts()[-1] == (found.admin, True)  # a config.worktree there would be obeyed


def test_the_main_working_tree_and_a_plain_folder_need_nothing(repo, tmp_path):
    assert linked_worktree(str(repo)) is None
    assert linked_worktree(str(tmp_path)) is None


def test_a_git_file_the_agent_planted_mounts_nothing(repo, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    planted = workspace / ".git"
    for target in ("/etc", str(Path.home()), str(repo / ".git"), "/"):
        planted.write_text(f"gitdir: {target}\n")
        assert linked_worktree(str(workspace)) is None, target
    # Another worktree's folder, which names another workspace.
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "-b", "other", str(other))
    planted.write_text(f"gitdir: {repo / '.git' / 'worktrees' / 'other'}\n")
    assert linked_worktree(str(workspace)) is None
    # A worktree folder written into a repository it can write, whose commondir leads elsewhere.
    evil = repo / ".git" / "worktrees" / "evil"
    evil.mkdir()
    (evil / "gitdir").write_text(f"{planted}\n")
    (evil / "commondir").write_text(f"{tmp_path}\n")
    planted.write_text(f"gitdir: {evil}\n")
    assert linked_worktree(str(workspace)) is None
    (evil / "commondir").write_text("../..\n")  # what git writes: then it is this repository's
    assert linked_worktree(str(workspace)) is not None


def test_a_git_file_that_is_a_link_or_a_fifo_is_not_read(repo, tmp_path):
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "wt", str(worktree))
    real = worktree / ".git"
    os.rename(real, tmp_path / "moved")
    real.symlink_to(tmp_path / "moved")
    assert linked_worktree(str(worktree)) is None
    real.unlink()
    os.mkfifo(real)
    assert linked_worktree(str(worktree)) is None
