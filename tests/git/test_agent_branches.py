"""Agent branches against the real engine, real git and the real agents' template: `berth run
--branch` gives each agent a worktree and a sandbox of its own; they run at once, commit on their own
branches, and removing one never loses uncommitted work or touches the others."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.cli import berth
from support.images import HOST_UID, REAL


def host_git(cwd: str, *args: str) -> str:
    return subprocess.run(["git", "-c", "safe.directory=*", "-c", "user.name=t", "-c",
                           "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(make_workspace, tmp_path, monkeypatch):
    """A repository the workspace owner owns, in a folder with a space and non-ASCII letters, and
    Berth's worktree root in a folder of the test's."""
    root = make_workspace("git root")
    path = os.path.join(root, "my répo ü")
    os.mkdir(path)
    host_git(path, "init", "-q", "--initial-branch=main")
    with open(os.path.join(path, "README"), "w") as f:
        f.write("hello\n")
    host_git(path, "add", "README")
    host_git(path, "commit", "-q", "-m", "first")
    subprocess.run(["chown", "-R", f"{HOST_UID}:{HOST_UID}", root], check=True)
    trees = tmp_path / "worktrees"
    monkeypatch.setenv("BERTH_WORKTREES", str(trees))
    yield path
    # The sandboxes of worktrees are not the fixture's workspaces: remove them here.
    listed = berth("worktrees", "--json", cwd=path)
    for branch in json.loads(listed.stdout) if listed.returncode == 0 else []:
        for sandbox in branch["sandboxes"]:
            berth("rm", sandbox["id"], cwd=path)


def in_sandbox(worktree: str, script: str) -> subprocess.CompletedProcess[str]:
    return berth("exec", "sh", "-c", script, cwd=worktree)


def test_two_agents_on_two_branches_commit_at_once_and_removal_keeps_work(repo, real_template):
    runs = {}
    for branch, agent in (("agent/claude-fix", "claude"), ("codex-feature", "codex")):
        out = berth("run", "-d", "-q", "--branch", branch, "-t", REAL, "--network-policy", "open",
                    agent, cwd=repo)
        assert out.returncode == 0, out.stderr
        runs[branch] = out.stdout.strip()
    listed = {b["branch"]: b for b in json.loads(berth("worktrees", "--json", cwd=repo).stdout)}
    assert set(listed) == {"agent/claude-fix", "codex-feature"}
    claude_wt, codex_wt = listed["agent/claude-fix"]["path"], listed["codex-feature"]["path"]
    trees = os.environ["BERTH_WORKTREES"]
    assert claude_wt.startswith(trees) and claude_wt.endswith("/agent-claude-fix")
    assert "my répo ü-" in claude_wt  # the repository's own folder name, as it is
    for branch, sandbox_id in runs.items():
        [sandbox] = listed[branch]["sandboxes"]
        assert sandbox["id"] == sandbox_id and sandbox["state"] == "running"
        assert listed[branch]["base"] == "main" and listed[branch]["ahead"] == 0

    # The real agents are there, each in its own sandbox; both sandboxes run at once.
    assert in_sandbox(claude_wt, "claude --version").returncode == 0
    assert in_sandbox(codex_wt, "codex --version").returncode == 0
    for worktree, name in ((claude_wt, "claude"), (codex_wt, "codex")):
        done = in_sandbox(worktree, f"echo {name} > {name}.txt && git add {name}.txt && "
                                    f"git -c user.name={name} -c user.email={name}@x commit -q "
                                    f"-m 'work of {name}' && git status --short --branch")
        assert done.returncode == 0, done.stderr
    assert host_git(repo, "log", "-1", "--format=%s", "agent/claude-fix") == "work of claude"
    assert host_git(repo, "log", "-1", "--format=%s", "codex-feature") == "work of codex"
    assert host_git(repo, "log", "-1", "--format=%s", "main") == "first"
    listed = {b["branch"]: b for b in json.loads(berth("worktrees", "--json", cwd=repo).stdout)}
    assert listed["codex-feature"]["ahead"] == 1 and not listed["codex-feature"]["dirty"]
    diff = berth("worktrees", "diff", "codex-feature", cwd=repo)
    assert diff.returncode == 0 and "+codex" in diff.stdout

    # Uncommitted work in the claude worktree: removal is refused, and nothing is touched.
    assert in_sandbox(claude_wt, "echo draft > draft.txt").returncode == 0
    refused = berth("worktrees", "rm", "agent/claude-fix", cwd=repo)
    assert refused.returncode == 6 and "uncommitted change" in refused.stderr, refused.stderr
    assert "draft.txt" in refused.stderr
    assert Path(claude_wt, "draft.txt").read_text() == "draft\n"
    assert in_sandbox(claude_wt, "true").returncode == 0  # its sandbox still runs

    # The codex one is clean: its sandbox and worktree go; its branch and commit stay; the
    # claude one and the main working tree are untouched.
    removed = berth("worktrees", "rm", "codex-feature", cwd=repo)
    assert removed.returncode == 0, removed.stderr
    assert runs["codex-feature"] in removed.stdout
    assert not os.path.exists(codex_wt)
    assert host_git(repo, "log", "-1", "--format=%s", "codex-feature") == "work of codex"
    assert [b["branch"] for b in json.loads(berth("worktrees", "--json", cwd=repo).stdout)] \
        == ["agent/claude-fix"]
    assert in_sandbox(claude_wt, "cat draft.txt").stdout == "draft\n"
    assert host_git(repo, "status", "--porcelain") == ""
    assert sorted(os.listdir(repo)) == [".git", "README"]


def test_run_on_a_branch_again_reuses_its_worktree_and_sandbox(repo, templates):
    first = berth("run", "-d", "-q", "--branch", "again", "-t", "berth-test/claude:1",
                  "--network-policy", "open", "claude", cwd=repo)
    assert first.returncode == 0, first.stderr
    second = berth("run", "-d", "--branch", "again", "claude", cwd=repo)
    assert second.returncode == 0, second.stderr
    assert "Using the worktree" in second.stderr and first.stdout.strip() in second.stdout


def test_a_bad_branch_or_a_folder_outside_git_leaves_nothing(repo, make_workspace, templates):
    bad = berth("run", "-d", "--branch", "a..b", "claude", cwd=repo)
    assert bad.returncode == 2 and "'a..b' is not a valid branch name" in bad.stderr
    plain = make_workspace("plain")
    outside = berth("run", "-d", "--branch", "x", "claude", cwd=plain)
    assert outside.returncode == 2 and "not in a git repository" in outside.stderr
    # A run that fails after the worktree was made takes the worktree back.
    failed = berth("run", "-d", "--branch", "doomed", "-t", "berth-test/no-such:1", "claude",
                   cwd=repo)
    assert failed.returncode != 0
    assert json.loads(berth("worktrees", "--json", cwd=repo).stdout) == []
    assert host_git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert host_git(repo, "branch", "--list", "doomed") == ""  # made for it, so gone with it


async def test_the_protocol_runs_agents_on_branches_lists_diffs_and_removes_them(repo, sessions,
                                                                               templates):
    s = await sessions([repo], options={"template": "berth-test/claude:1",
                                        "networkPolicy": "open"})
    await s.wait_status(repo, "absent")
    first = await s.request("sandbox/run", {"branch": "one"})
    assert first["worktree"]["made"] and first["worktree"]["branch"] == "one"
    worktree = first["worktree"]["path"]
    assert first["workspace"] == worktree and first["status"] == "running"
    # Its status is pushed like any sandbox's, under the worktree's path.
    await s.wait_status(worktree, "running")
    again = await s.request("sandbox/run", {"branch": "one"})
    assert not again["worktree"]["made"] and again["id"] == first["id"]

    Path(worktree, "new.txt").write_text("new\n")
    [branch] = await s.request("sandbox/worktrees", {})
    assert branch["branch"] == "one" and branch["dirty"] and branch["changes"] == 1
    assert [x["id"] for x in branch["sandboxes"]] == [first["id"]]
    diff = await s.request("sandbox/worktreeDiff", {"branch": "one"})
    assert diff["base"] == "main" and diff["text"] == ""  # untracked files are in no diff

    refused = await s.error("sandbox/removeWorktree", {"branch": "one"})
    assert refused.code == -32004 and "new.txt" in refused.message
    assert Path(worktree, "new.txt").exists()
    os.remove(os.path.join(worktree, "new.txt"))
    # A file git ignores (the agent writes .gitignore): named in the refusal's data, and removed
    # only when the client asks again with discardIgnored.
    Path(worktree, "info").mkdir()
    Path(worktree, "info", "secret.env").write_text("TOKEN=1\n")
    exclude = Path(repo, ".git", "info", "exclude")
    exclude.parent.mkdir(exist_ok=True)
    exclude.write_text("*.env\n")
    ignored = await s.error("sandbox/removeWorktree", {"branch": "one"})
    assert ignored.code == -32004 and ignored.data["ignored"] == ["info/"], ignored.data
    assert Path(worktree, "info", "secret.env").exists()
    mark = len(s.statuses)
    removed = await s.request("sandbox/removeWorktree", {"branch": "one", "discardIgnored": True})
    assert removed["removed"] == [first["id"]] and not os.path.exists(worktree)
    await s.wait_status(worktree, "absent", after=mark)
    assert await s.request("sandbox/worktrees", {}) == []

    bad = await s.error("sandbox/run", {"branch": "-x"})
    assert bad.code == -32602 and "'-x' is not a valid branch name" in bad.message
    main = await s.error("sandbox/run", {"branch": "main"})
    assert main.code == -32004 and "main working tree" in main.message
