"""A workspace that is a linked git worktree, against the real engine and real git: git works in its
sandbox (status, commit, log, branch), the commits are on the branch in the host repository at once,
and the repository's config and hooks, which decide what git runs on the host, stay out of reach."""

from __future__ import annotations

import os
import subprocess

from support.cli import berth, sh
from support.images import HOST_UID, REAL


def host_git(cwd: str, *args: str, check: bool = True) -> str:
    # The repository is the workspace owner's, not the test's (root): git must be told it is fine.
    return subprocess.run(["git", "-c", "safe.directory=*", "-c", "user.name=t", "-c",
                           "user.email=t@t", *args], cwd=cwd, check=check, capture_output=True,
                          text=True).stdout.strip()


def test_git_works_in_a_linked_worktree_and_commits_land_on_its_branch(make_workspace,
                                                                       real_template):
    root = make_workspace("git root")
    repo, worktree = os.path.join(root, "my répo"), os.path.join(root, "feature wt")
    os.mkdir(repo)
    host_git(repo, "init", "-q", "--initial-branch=main")
    host_git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    host_git(repo, "worktree", "add", "-q", "-b", "feature", worktree)
    subprocess.run(["chown", "-R", f"{HOST_UID}:{HOST_UID}", root], check=True)
    out = berth("run", "-d", "-q", "-t", REAL, "--network-policy", "open", "claude", cwd=worktree)
    assert out.returncode == 0, out.stderr
    inside = sh(worktree, "git status --short --branch && git -c user.name=a -c user.email=a@a "
                          "commit -q --allow-empty -m 'from the sandbox' && git log -1 --format=%s "
                          "&& git branch --list feature")
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.splitlines()[0] == "## feature"
    assert "from the sandbox" in inside.stdout and "* feature" in inside.stdout
    assert host_git(repo, "log", "-1", "--format=%s", "feature") == "from the sandbox"
    assert host_git(repo, "log", "-1", "--format=%s", "main") == "first"  # the main tree untouched
    common = os.path.join(repo, ".git")
    # What would run on the host: the repository's config (core.hooksPath, core.fsmonitor) and hooks.
    config = sh(worktree, "git config core.fsmonitor 'touch /tmp/pwned'")
    assert config.returncode != 0 and "Read-only file system" in config.stderr, config.stderr
    hook = sh(worktree, f"echo 'touch /tmp/pwned' > '{common}/hooks/post-checkout'")
    assert hook.returncode != 0 and "Read-only file system" in hook.stderr
    assert host_git(repo, "config", "--get", "core.fsmonitor", check=False) == ""
    assert not os.path.exists(os.path.join(common, "hooks", "post-checkout"))
