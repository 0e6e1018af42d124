"""Agent branches' worktrees on the host (berth.worktrees), with real git in tmp_path: where they go,
reuse, refusals, what listings count, removal that never loses work, and that nothing an agent can
plant in the repository (hooks, filters) runs when Berth calls git."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest
from berth.errors import BadInput, BerthError, Conflict, NotFound
from berth.worktrees import (
    Repository,
    diff,
    ensure_worktree,
    find_worktree,
    list_worktrees,
    remove_worktree,
    repository,
    repository_folder,
    worktree_root,
)


def git(cwd: Path | str, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit(cwd: Path | str, name: str, content: str = "x\n") -> str:
    Path(cwd, name).write_text(content)
    git(cwd, "add", "--", name)
    git(cwd, "commit", "-q", "-m", f"add {name}")
    return git(cwd, "rev-parse", "HEAD").strip()


def branch_exists(repo: Path, branch: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"], cwd=repo,
                          capture_output=True).returncode == 0


def linked_paths(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")][1:]


@pytest.fixture(autouse=True)
def environment(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "worktrees"
    monkeypatch.setenv("BERTH_WORKTREES", str(root))
    # The test machine's own git config must change nothing, nor a repository above tmp_path.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Tess")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "tess@example.com")
    return root


def make_repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    git(folder, "init", "-q", "--initial-branch=main")
    commit(folder, "README", "hello\n")
    return folder


@pytest.fixture
def repo(tmp_path) -> Path:
    return make_repo(tmp_path / "repo")


def place(repo: Path, slug: str) -> str:
    common = os.path.realpath(repo / ".git")
    digest = hashlib.sha256(common.encode()).hexdigest()[:8]
    return os.path.join(os.path.realpath(os.environ["BERTH_WORKTREES"]), f"{repo.name}-{digest}", slug)


# --- making and reusing ---


def test_a_new_branch_gets_a_worktree_in_the_documented_place(repo):
    main_head = git(repo, "rev-parse", "HEAD").strip()
    worktree, created = ensure_worktree(str(repo), "feature/x")
    assert created
    assert worktree.path == place(repo, "feature-x")
    assert (worktree.branch, worktree.head, worktree.base) == ("feature/x", main_head, "main")
    assert (worktree.ahead, worktree.behind, worktree.dirty, worktree.changes) == (0, 0, False, 0)
    assert worktree.managed
    assert git(worktree.path, "symbolic-ref", "HEAD").strip() == "refs/heads/feature/x"
    assert Path(worktree.path, "README").read_text() == "hello\n"
    assert git(repo, "config", "branch.feature/x.berthBase").strip() == "main"
    assert worktree.to_json() == {"path": worktree.path, "branch": "feature/x", "head": main_head,
                                  "base": "main", "ahead": 0, "behind": 0, "dirty": False,
                                  "changes": 0, "managed": True, "error": None}
    assert stat.S_IMODE(os.stat(os.environ["BERTH_WORKTREES"]).st_mode) == 0o700


def test_the_same_branch_reuses_its_worktree_from_anywhere_in_the_repository(repo):
    first, _ = ensure_worktree(str(repo), "agent")
    (repo / "sub").mkdir()
    for where in (repo, repo / "sub", Path(first.path)):
        again, created = ensure_worktree(str(where), "agent")
        assert (again.path, created) == (first.path, False)
    assert linked_paths(repo) == [first.path]


def test_an_existing_branch_not_checked_out_gets_a_worktree(repo):
    git(repo, "branch", "old")
    commit(repo, "later")  # main moves on without "old"
    git(repo, "checkout", "-q", "old")
    old_head = commit(repo, "on-old")
    git(repo, "checkout", "-q", "main")
    worktree, created = ensure_worktree(str(repo), "old", base="main")
    assert created
    assert (worktree.branch, worktree.head) == ("old", old_head)
    assert worktree.base == "main"  # nothing recorded: the main working tree's branch
    assert (worktree.ahead, worktree.behind) == (1, 1)
    assert Path(worktree.path, "on-old").exists()


def test_a_base_given_is_where_a_new_branch_starts_and_what_it_compares_with(repo):
    start = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "branch", "dev")
    commit(repo, "main-only")
    worktree, _ = ensure_worktree(str(repo), "from-dev", base="dev")
    assert (worktree.head, worktree.base, worktree.behind) == (start, "dev", 0)
    assert git(repo, "config", "branch.from-dev.berthBase").strip() == "dev"
    # A commit is no branch: nothing recorded, so it compares with the main working tree's branch.
    worktree, _ = ensure_worktree(str(repo), "from-commit", base=start)
    assert (worktree.head, worktree.base, worktree.behind) == (start, "main", 1)
    with pytest.raises(BadInput) as raised:
        ensure_worktree(str(repo), "from-nothing", base="no-such-base")
    assert "no-such-base" in raised.value.message
    assert not branch_exists(repo, "from-nothing")


def test_a_branch_checked_out_in_the_main_working_tree_is_refused(repo):
    with pytest.raises(Conflict) as raised:
        ensure_worktree(str(repo), "main")
    assert raised.value.message == (f"The branch main is checked out in the main working tree {repo}; "
                                    "give the agent a branch of its own.")
    assert not os.path.exists(os.environ["BERTH_WORKTREES"])


@pytest.mark.parametrize("name", ["a..b", "-x", "HEAD", "@{-1}", "has space", "ends/", ""])
def test_a_bad_branch_name_is_refused_naming_it(repo, name):
    with pytest.raises(BadInput) as raised:
        ensure_worktree(str(repo), name)
    assert f"'{name}'" in raised.value.message
    assert raised.value.data == {"field": "branch", "value": name}
    assert not os.path.exists(os.environ["BERTH_WORKTREES"])


def test_a_folder_outside_git_and_a_bare_repository_are_refused(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(BadInput) as raised:
        ensure_worktree(str(plain), "agent")
    assert raised.value.message == f"The folder {plain} is not in a git repository; --branch needs one."
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(BadInput) as raised:
        list_worktrees(str(bare))
    assert str(bare) in raised.value.message and "bare" in raised.value.message
    with pytest.raises(BadInput):
        repository(str(tmp_path / "missing"))


def test_the_repository_is_its_main_working_tree_from_any_worktree(repo, tmp_path):
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    expected = Repository(str(repo), str(repo / ".git"))
    assert repository(str(tmp_path / "side")) == expected
    assert repository(str(repo)) == expected


def test_a_taken_slug_gets_a_number(repo):
    first, _ = ensure_worktree(str(repo), "feature/x")
    second, _ = ensure_worktree(str(repo), "feature-x")
    assert first.path == place(repo, "feature-x")
    assert second.path == place(repo, "feature-x-2")
    Path(place(repo, "other")).write_text("not a worktree")  # anything at the path takes it
    third, _ = ensure_worktree(str(repo), "other")
    assert third.path == place(repo, "other-2")
    assert Path(place(repo, "other")).read_text() == "not a worktree"


def test_a_failed_add_leaves_nothing_behind(repo, environment):
    # The branch can't be made: git fails before any folder exists.
    Path(repo, ".git", "refs", "heads", "locked.lock").write_text("")
    with pytest.raises(BerthError) as raised:
        ensure_worktree(str(repo), "locked")
    assert "locked" in str(raised.value)
    assert not environment.exists()  # not even the root Berth made for it
    # The checkout fails after the folder was made: a file name no file system takes.
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input="x\n", check=True,
                          capture_output=True, text=True).stdout.strip()
    tree = subprocess.run(["git", "mktree"], cwd=repo, input=f"100644 blob {blob}\t{'a' * 300}\n",
                          check=True, capture_output=True, text=True).stdout.strip()
    long_commit = git(repo, "commit-tree", "-m", "long", tree).strip()
    environment.mkdir()
    with pytest.raises(BerthError) as raised:
        ensure_worktree(str(repo), "unlucky", base=long_commit)
    assert "unlucky" in str(raised.value)
    assert list(environment.iterdir()) == []  # the root was there before; the rest is gone
    assert linked_paths(repo) == []
    admin = repo / ".git" / "worktrees"
    assert not admin.exists() or list(admin.iterdir()) == []
    assert not branch_exists(repo, "unlucky")


def test_a_worktree_whose_folder_was_deleted_is_made_again(repo):
    worktree, _ = ensure_worktree(str(repo), "agent")
    commit(worktree.path, "work")
    subprocess.run(["rm", "-rf", worktree.path], check=True)
    assert list_worktrees(str(repo)) == []  # a prunable worktree is skipped
    again, created = ensure_worktree(str(repo), "agent")
    assert created and again.path == worktree.path
    assert Path(again.path, "work").exists()  # the branch kept its commit


# --- the repository's own files run nothing ---


def test_hooks_filters_and_diff_drivers_planted_in_the_repository_do_not_run(repo, tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "planted.sh"
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> '{marker}'\ncat\n")
    script.chmod(0o755)
    for hooks in (repo / ".git" / "hooks", tmp_path / "planted-hooks"):
        hooks.mkdir(exist_ok=True)
        for name in ("post-checkout", "reference-transaction", "post-index-change"):
            (hooks / name).symlink_to(script)
    for key, value in [("filter.evil.clean", script), ("filter.evil.smudge", script),
                       ("filter.evil.required", "true"), ("diff.external", script),
                       ("diff.evil.textconv", script), ("core.fsmonitor", script)]:
        git(repo, "config", key, str(value))
    commit(repo, ".gitattributes", "* filter=evil diff=evil\n")
    assert marker.exists()  # the commit above ran the planted hooks, filter and fsmonitor: they work
    marker.unlink()

    worktree, _ = ensure_worktree(str(repo), "agent")
    Path(worktree.path, "README").write_text("changed\n")
    assert "+changed" in diff(str(repo), "agent")
    assert list_worktrees(str(repo))[0].changes == 1
    assert not marker.exists(), marker.read_text()
    git(worktree.path, "diff")
    assert marker.exists()  # git's own diff in the worktree runs them
    git(worktree.path, "checkout", "-q", "--", "README")
    git(repo, "config", "core.hooksPath", str(tmp_path / "planted-hooks"))
    marker.unlink()
    ensure_worktree(str(repo), "agent-2")
    list_worktrees(str(repo))
    remove_worktree(str(repo), "agent")
    remove_worktree(str(repo), "agent-2")
    assert not marker.exists(), marker.read_text()


def test_a_filter_in_a_worktrees_own_config_does_not_run_when_it_is_removed(repo, tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "planted.sh"
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> '{marker}'\ncat\n")
    script.chmod(0o755)
    git(repo, "config", "extensions.worktreeConfig", "true")
    worktree, _ = ensure_worktree(str(repo), "agent")
    git(worktree.path, "config", "--worktree", "filter.mine.clean", str(script))
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* filter=mine\n")
    # A file whose time changed is read through the clean filter to tell whether it changed.
    later = os.stat(Path(worktree.path, "README")).st_mtime + 100
    os.utime(Path(worktree.path, "README"), (later, later))
    remove_worktree(str(repo), "agent")  # its `git status` check runs in the worktree
    assert not marker.exists(), marker.read_text()


# --- what a listing says ---


def test_ahead_and_behind_count_commits_on_both_sides(repo):
    worktree, _ = ensure_worktree(str(repo), "agent")
    commit(worktree.path, "one")
    head = commit(worktree.path, "two")
    commit(repo, "on-main")
    [listed] = list_worktrees(str(repo))
    assert (listed.path, listed.head, listed.base) == (worktree.path, head, "main")
    assert (listed.ahead, listed.behind) == (2, 1)
    assert not listed.dirty


def test_an_untracked_file_makes_a_worktree_dirty(repo):
    worktree, _ = ensure_worktree(str(repo), "agent")
    Path(worktree.path, "new dir").mkdir()
    Path(worktree.path, "new dir", "notes.txt").write_text("untracked\n")
    found = find_worktree(str(repo), "agent")
    assert (found.dirty, found.changes) == (True, 1)
    Path(worktree.path, "README").write_text("edited\n")
    Path(worktree.path, "another").write_text("untracked\n")
    assert find_worktree(str(repo), "agent").changes == 3


def test_listings_hold_linked_worktrees_sorted_by_branch_and_mark_berths(repo, tmp_path):
    ensure_worktree(str(repo), "zed")
    ensure_worktree(str(repo), "alpha")
    git(repo, "worktree", "add", "-q", "-b", "mine", str(tmp_path / "mine"))
    listed = list_worktrees(str(repo))
    assert [(w.branch, w.managed) for w in listed] == [("alpha", True), ("mine", False), ("zed", True)]
    assert listed[1].path == str(tmp_path / "mine")
    # A user's worktree is reused as it is.
    reused, created = ensure_worktree(str(repo), "mine")
    assert (reused.path, created) == (str(tmp_path / "mine"), False)


def test_find_by_branch_or_path(repo, monkeypatch):
    worktree, _ = ensure_worktree(str(repo), "feature/x")
    assert find_worktree(str(repo), "feature/x").path == worktree.path
    assert find_worktree(str(repo), "refs/heads/feature/x").path == worktree.path
    assert find_worktree(str(repo), worktree.path).branch == "feature/x"
    monkeypatch.chdir(Path(worktree.path).parent)
    assert find_worktree(str(repo), "feature-x").branch == "feature/x"
    with pytest.raises(NotFound) as raised:
        find_worktree(str(repo), "nope")
    assert "nope" in raised.value.message
    with pytest.raises(NotFound) as raised:
        find_worktree(str(repo), "main")
    assert "main working tree" in raised.value.message


# --- removing ---


def test_remove_refuses_a_worktree_with_changes_and_leaves_every_file(repo):
    worktree, _ = ensure_worktree(str(repo), "agent")
    Path(worktree.path, "README").write_text("edited\n")
    Path(worktree.path, "a.txt").write_text("a\n")
    Path(worktree.path, "b.txt").write_text("b\n")
    Path(worktree.path, "c.txt").write_text("c\n")
    with pytest.raises(Conflict) as raised:
        remove_worktree(str(repo), "agent")
    message = raised.value.message
    assert message.startswith(f"The worktree {worktree.path} has 4 uncommitted changes (")
    assert "README" in message and "a.txt" in message
    assert message.endswith("commit, stash or discard them first. Nothing was removed.")
    assert Path(worktree.path, "README").read_text() == "edited\n"
    assert sorted(p.name for p in Path(worktree.path).iterdir()) == [".git", "README", "a.txt",
                                                                      "b.txt", "c.txt"]
    assert [w.path for w in list_worktrees(str(repo))] == [worktree.path]


def test_remove_takes_the_folder_and_keeps_the_branch_and_its_commits(repo):
    worktree, _ = ensure_worktree(str(repo), "agent")
    head = commit(worktree.path, "work")
    before = find_worktree(str(repo), "agent")
    removed = remove_worktree(str(repo), "agent")
    assert removed == before
    assert not os.path.exists(worktree.path)
    assert not os.path.exists(os.path.dirname(worktree.path))  # the repository's folder, now empty
    assert git(repo, "rev-parse", "refs/heads/agent").strip() == head
    assert list_worktrees(str(repo)) == []
    assert linked_paths(repo) == []


def test_remove_refuses_a_worktree_berth_did_not_make(repo, tmp_path):
    mine = tmp_path / "mine"
    git(repo, "worktree", "add", "-q", "-b", "mine", str(mine))
    with pytest.raises(Conflict) as raised:
        remove_worktree(str(repo), "mine")
    assert raised.value.message == (f"The worktree {mine} was not made by Berth; remove it with "
                                    "git worktree remove.")
    assert (mine / "README").exists()


# --- diff ---


def test_diff_shows_the_branchs_changes_since_its_base_uncommitted_ones_included(repo):
    worktree, _ = ensure_worktree(str(repo), "agent")
    commit(worktree.path, "committed.txt", "from the agent\n")
    Path(worktree.path, "README").write_text("hello\nuncommitted\n")
    commit(repo, "main-only.txt", "from main\n")
    out = diff(str(repo), "agent")
    assert "+from the agent" in out and "+uncommitted" in out
    assert "main-only" not in out


def test_diff_without_a_base_is_refused(repo):
    git(repo, "branch", "old")
    git(repo, "checkout", "-q", "--detach")
    worktree, _ = ensure_worktree(str(repo), "old")
    assert worktree.base is None and worktree.ahead is None and worktree.behind is None
    with pytest.raises(BadInput) as raised:
        diff(str(repo), "old")
    assert worktree.path in raised.value.message


# --- a repository with a name like a person's ---


def test_a_folder_with_spaces_and_accents_works_end_to_end(tmp_path):
    repo = make_repo(tmp_path / "my répo ü")
    worktree, created = ensure_worktree(str(repo), "fix/ümlaut")
    assert created and worktree.path == place(repo, "fix-ümlaut")
    assert "my répo ü-" in worktree.path
    Path(worktree.path, "fichier é.txt").write_text("é\n")
    assert find_worktree(str(repo), worktree.path).changes == 1
    git(worktree.path, "add", "-A")
    git(worktree.path, "commit", "-q", "-m", "é")
    assert "+é" in diff(str(repo), "fix/ümlaut")
    [listed] = list_worktrees(str(worktree.path))
    assert (listed.branch, listed.ahead, listed.managed) == ("fix/ümlaut", 1, True)
    remove_worktree(str(repo), "fix/ümlaut")
    assert not os.path.exists(worktree.path)
    assert branch_exists(repo, "fix/ümlaut")


# --- where the root is ---


def test_the_root_comes_from_berth_worktrees_or_xdg_data_home(monkeypatch, tmp_path, repo):
    monkeypatch.setenv("BERTH_WORKTREES", "relative/path")
    with pytest.raises(BadInput) as raised:
        worktree_root()
    assert "relative/path" in raised.value.message
    monkeypatch.delenv("BERTH_WORKTREES")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert worktree_root() == str(tmp_path / "data" / "berth" / "worktrees")
    monkeypatch.delenv("XDG_DATA_HOME")
    assert worktree_root() == str(tmp_path / "home" / ".local" / "share" / "berth" / "worktrees")
    folder = repository_folder(repository(str(repo)))
    assert os.path.dirname(folder) == worktree_root()
    assert os.path.basename(folder).startswith("repo-")


def test_a_filter_in_a_submodule_the_agent_made_does_not_run(repo, tmp_path):
    tree, _ = ensure_worktree(str(repo), "agent")
    marker = tmp_path / "ran"
    sub = Path(tree.path, "sub")
    sub.mkdir()
    git(sub, "init", "-q")
    commit(sub, "a.txt")
    git(tree.path, "add", "sub")  # a gitlink: the submodule is the agent's own repository
    git(sub, "config", "filter.evil.clean", f"touch {marker}; cat")
    Path(sub, ".gitattributes").write_text("* filter=evil\n")
    Path(sub, "a.txt").write_text("y\n")  # the same size: git must read it, through the filter
    # Plain git, recursing into the submodule, runs it: the trap is real.
    git(tree.path, "status", "--ignore-submodules=none")
    assert marker.exists()
    marker.unlink()
    [listed] = list_worktrees(str(repo))
    assert listed.dirty
    diff(str(repo), "agent")
    assert not marker.exists()


def test_a_git_file_the_agent_rewrote_is_read_nowhere_and_listed_with_why(repo, tmp_path):
    tree, _ = ensure_worktree(str(repo), "agent")
    marker = tmp_path / "ran"
    fake = Path(tree.path, ".fake")
    git(tmp_path, "init", "-q", str(fake.parent / "fakerepo"))
    os.rename(Path(tree.path, "fakerepo", ".git"), fake)
    git(tree.path, "--git-dir", str(fake), "config", "core.fsmonitor", f"touch {marker}")
    git(tree.path, "--git-dir", str(fake), "config", "core.sshCommand", f"touch {marker}")
    Path(tree.path, ".git").write_text(f"gitdir: {fake}\n")
    [listed] = list_worktrees(str(repo))
    assert listed.branch == "agent" and listed.error and "does not lead back" in listed.error
    with pytest.raises(Conflict, match="does not lead back"):
        diff(str(repo), "agent")
    with pytest.raises(Conflict):
        remove_worktree(str(repo), "agent")
    assert not marker.exists() and os.path.isdir(tree.path)


def test_remove_refuses_files_git_ignores_unless_told_to_discard_them(repo):
    tree, _ = ensure_worktree(str(repo), "agent")
    Path(tree.path, ".gitignore").write_text(".env\n")
    git(tree.path, "add", ".gitignore")
    git(tree.path, "commit", "-q", "-m", "ignore")
    Path(tree.path, ".env").write_text("TOKEN=keep-me\n")
    with pytest.raises(Conflict, match=r"files git ignores \(\.env\)"):
        remove_worktree(str(repo), "agent")
    assert Path(tree.path, ".env").read_text() == "TOKEN=keep-me\n"
    remove_worktree(str(repo), "agent", discard_ignored=True)
    assert not os.path.exists(tree.path) and branch_exists(repo, "agent")


def test_two_new_branches_with_one_slug_get_two_folders(repo):
    one, _ = ensure_worktree(str(repo), "a/b")
    two, _ = ensure_worktree(str(repo), "a-b")
    assert one.path != two.path and two.path.endswith("a-b-2")
    assert {w.branch for w in list_worktrees(str(repo))} == {"a/b", "a-b"}
