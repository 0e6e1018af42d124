"""Git worktrees for agent branches, on the host: `berth run --branch BRANCH AGENT` gives the agent a
worktree of its own with BRANCH checked out, so it never works in the user's main working tree.

Where they go: under the worktree root, which is `$BERTH_WORKTREES` when set (an absolute path), else
`${XDG_DATA_HOME:-~/.local/share}/berth/worktrees`. Each repository gets a folder there named
`<repository folder name>-<8 hex digits>`, the digits being the start of the SHA-256 of the real path
of its common git directory (so two checkouts that share a folder name stay apart), and each
worktree is `<that folder>/<branch slug>`, the slug being the branch name with `/` made `-`
(`feature/x` -> `feature-x`). When that path is taken by anything else, `-2`, `-3`, ... is appended.
The folder name is kept as it is, spaces and non-ASCII letters included. Worktrees elsewhere (made by
the user with `git worktree add`) are listed and reused, but only those under the repository's folder
count as made by Berth ("managed"), and only those are ever removed.

When a branch is made, the branch it starts from is recorded as `branch.<BRANCH>.berthBase` in the
repository's config: listings count commits ahead and behind that branch, and `diff` compares with it.

Security: the repository's files, `.git/config` and hooks included, may have been written by an agent.
So git runs here without a shell or prompts, with hooks and fsmonitor off, diffs without external
diff drivers or textconv, and with every content filter (`filter.<name>.clean/smudge/process`) the
repository's own config defines turned off: such a filter would otherwise run a command on the host
as soon as a checkout or `git status` reads a file. Filters from the user's own global or system
config (git-lfs, say) still run, unless the repository's config redefines them. User-given refs and
paths follow `--end-of-options` or `--`, and refs read back from the config are resolved to commits
before use.

Berth running as root (a CI machine, a root shell) on a repository another user owns acts for that
user: git is told the repository is safe (it refuses another user's repository otherwise), and what
a new worktree adds (its files, its folder in the git directory, the branch's ref and reflog, the
config) is given to the repository's owner, so the sandbox's agent, which takes the workspace owner's
uid, can work in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from berth.errors import BadInput, BerthError, Conflict, NotFound
from berth.git_worktree import linked_worktree

log = logging.getLogger(__name__)

# Spelled out on every call: an agent could set these in a config file git reads.
_SAFETY = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
# What `git rev-parse --local-env-vars` lists: set in Berth's own environment (say, Berth started from
# a git hook), they would point these calls at another repository or add config.
_LOCAL_ENV = frozenset({
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR",
})
# Commands that never read a working tree file, so no content filter can run in them.
_NO_FILES = frozenset({"rev-parse", "rev-list", "config", "check-ref-format", "merge-base", "update-ref"})
# Config scopes an agent can write: the repository's config and a worktree's config.worktree.
_UNTRUSTED_SCOPES = ("local", "worktree")
# File names stay under NAME_MAX (255 bytes) with room for "-<8 hex>" or "-<n>".
_NAME_BYTES = 200
_ZERO_SHA = "0" * 40
_HOW_MANY_NAMED = 3
# Ignored files a refusal carries in its data, for a client to show before asking to discard them.
_IGNORED_LISTED = 20


@dataclass(frozen=True)
class Repository:
    toplevel: str  # the main working tree, e.g. /home/ada/repo
    common_dir: str  # the git directory every worktree shares, e.g. /home/ada/repo/.git


@dataclass(frozen=True)
class Worktree:
    path: str  # real path
    branch: str | None  # short name; None when detached
    head: str  # commit sha
    base: str | None  # the branch it is compared with
    ahead: int | None  # commits of the branch not in base; None without a base
    behind: int | None  # commits of base not in the branch
    dirty: bool
    changes: int  # `git status` entries, untracked files included
    managed: bool  # made by Berth: under the repository's folder in worktree_root()
    error: str | None = None  # why it could not be read (then dirty, and changes unknown: 0)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "branch": self.branch, "head": self.head, "base": self.base,
                "ahead": self.ahead, "behind": self.behind, "dirty": self.dirty,
                "changes": self.changes, "managed": self.managed, "error": self.error}


@dataclass(frozen=True)
class _Entry:
    """One record of `git worktree list --porcelain`."""

    path: str
    head: str
    branch: str | None
    bare: bool
    prunable: bool


# --- where worktrees go ---


def worktree_root() -> str:
    configured = os.environ.get("BERTH_WORKTREES", "")
    if configured:
        if not os.path.isabs(configured):
            raise BadInput(f"BERTH_WORKTREES must be an absolute path, not {configured}.",
                           field="BERTH_WORKTREES", value=configured)
        return os.path.normpath(configured)
    data = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(data):  # the XDG spec says a relative one is to be ignored
        data = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "berth", "worktrees")


def is_agent_branch(path: str) -> bool:
    """Whether PATH is in the worktree root: an agent branch's worktree (no git is run)."""
    try:
        return _is_under(path, worktree_root())
    except BerthError:  # a BERTH_WORKTREES that is no absolute path: no agent branch anywhere
        return False


def repository_folder(repo: Repository) -> str:
    """The folder under worktree_root() that holds this repository's worktrees."""
    name = os.path.basename(repo.toplevel).replace("/", "").replace("\0", "")
    if name in ("", ".", ".."):
        name = "repository"
    digest = hashlib.sha256(os.fsencode(repo.common_dir)).hexdigest()[:8]
    return os.path.join(worktree_root(), f"{_fit(name)}-{digest}")


def _fit(name: str) -> str:
    while len(os.fsencode(name)) > _NAME_BYTES:
        name = name[:-1]
    return name


def _slug(branch: str) -> str:
    return _fit(branch.replace("/", "-"))


def _is_under(path: str, folder: str) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(folder).rstrip("/") + "/")


# --- running git ---


def _run_git(cwd: str, args: Sequence[str], *, scan: Sequence[str] = (),
             where: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """git ARGS in CWD, never raising for git's exit status. SCAN: more worktrees whose own config a
    child git of this command reads (the one `git worktree remove` checks). WHERE: GIT_DIR and its
    kin, when git must not find its repository by itself (`_inside`)."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCAL_ENV}
    # LC_ALL for output and messages that parse the same everywhere; no optional locks so that
    # reading a worktree never writes the index an agent may be using. No transport at all: a
    # config can make reading a missing object fetch it (a promisor remote), and a fetch runs
    # commands (core.sshCommand, a remote's uploadpack).
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_OPTIONAL_LOCKS="0",
               GIT_ALLOW_PROTOCOL="none", GIT_NO_LAZY_FETCH="1", **(where or {}))
    if _reads_files(args):
        overrides = _filter_overrides([cwd, *scan], where)
        # The environment form takes any key as it is; `-c` would split a filter name with an '='.
        env["GIT_CONFIG_COUNT"] = str(len(overrides))
        for i, (key, value) in enumerate(overrides):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
    # As root, another user's repository is only refused by git's ownership check, which the
    # owner's own git would not make: what would run is disarmed above either way.
    owned = ("-c", "safe.directory=*") if os.geteuid() == 0 else ()
    try:
        return subprocess.run(["git", *_SAFETY, *owned, *args], cwd=cwd, env=env,
                              stdin=subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError as exc:
        if shutil.which("git") is None:
            raise BerthError("git is not installed on this machine; --branch needs it.") from None
        raise BadInput(f"Could not run git in the folder {cwd}: {exc.strerror}.", field="path",
                       value=cwd) from None


def _git(cwd: str, *args: str, purpose: str, error: type[BerthError] = BerthError,
         scan: Sequence[str] = (), where: dict[str, str] | None = None) -> str:
    """git's output; on failure raises ERROR saying "Could not PURPOSE" and what git said."""
    result = _run_git(cwd, args, scan=scan, where=where)
    if result.returncode != 0:
        raise error(f"Could not {purpose}: {_said(result)}")
    return os.fsdecode(result.stdout)


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = [line.strip() for line in result.stderr.decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    # git's own error lines, without the progress and advice around them.
    errors = [line for line in lines if line.startswith(("fatal: ", "error: "))]
    said = " ".join(line.removeprefix("fatal: ").removeprefix("error: ") for line in errors or lines)
    return said or f"git exited with status {result.returncode}."


def _reads_files(args: Sequence[str]) -> bool:
    if args[0] in _NO_FILES:
        return False
    return not (args[0] == "worktree" and len(args) > 1 and args[1] in ("list", "prune"))


def _filter_overrides(folders: Sequence[str],
                      where: dict[str, str] | None) -> list[tuple[str, str]]:
    """Config that turns off every content filter the repository's own config files define."""
    names: set[str] = set()
    for folder in folders:
        result = _run_git(folder, ["config", "-z", "--show-scope", "--get-regexp", r"^filter\."],
                          where=where)
        if result.returncode != 0:  # 1: no filter at all
            continue
        fields = os.fsdecode(result.stdout).split("\0")
        for scope, entry in zip(fields[0::2], fields[1::2], strict=False):
            key = entry.split("\n", 1)[0]
            if scope in _UNTRUSTED_SCOPES and key.count(".") >= 2:
                names.add(key[len("filter."):key.rindex(".")])
    # An empty command is no filter to git; not required, so that a file is checked out unfiltered
    # instead of failing the whole checkout.
    return [(f"filter.{name}.{var}", value) for name in sorted(names)
            for var, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))]


# --- reading the repository ---


def repository(path: str) -> Repository:
    folder = os.path.abspath(path)
    if not os.path.isdir(folder):
        raise BadInput(f"The folder {folder} does not exist.", field="path", value=folder)
    result = _run_git(folder, ["rev-parse", "--path-format=absolute", "--git-common-dir",
                               "--is-bare-repository"])
    if result.returncode != 0:
        said = _said(result)
        if "not a git repository" in said:
            raise BadInput(f"The folder {folder} is not in a git repository; --branch needs one.",
                           field="path", value=folder)
        raise BadInput(f"Could not read the git repository at {folder}: {said}", field="path",
                       value=folder)
    common, _, bare = os.fsdecode(result.stdout).rstrip("\n").rpartition("\n")
    entries = _entries(folder)
    if bare == "true" or not entries or entries[0].bare:
        raise BadInput(f"The repository at {folder} is bare: it has no main working tree to branch "
                       "from, which --branch needs.", field="path", value=folder)
    return Repository(os.path.realpath(entries[0].path), os.path.realpath(common))


def _entries(cwd: str) -> list[_Entry]:
    """Every worktree, the main one first (git always lists it first)."""
    out = _git(cwd, "worktree", "list", "--porcelain", "-z", purpose="list the repository's worktrees")
    entries: list[_Entry] = []
    fields: dict[str, str] = {}
    for field in out.split("\0"):
        if field:
            key, _, value = field.partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            branch = fields.get("branch")
            entries.append(_Entry(path=os.path.realpath(fields["worktree"]),
                                  head=fields.get("HEAD", _ZERO_SHA),
                                  branch=branch.removeprefix("refs/heads/") if branch else None,
                                  bare="bare" in fields, prunable="prunable" in fields))
        fields = {}
    return entries


def _gone(entry: _Entry) -> bool:
    return entry.prunable or not os.path.isdir(entry.path)


def _recorded_bases(cwd: str) -> dict[str, str]:
    """branch -> its berthBase."""
    result = _run_git(cwd, ["config", "-z", "--get-regexp", r"^branch\..*\.berthbase$"])
    if result.returncode != 0:  # 1: none recorded
        return {}
    bases = {}
    for record in os.fsdecode(result.stdout).split("\0"):
        key, _, value = record.partition("\n")
        if key.startswith("branch.") and key.lower().endswith(".berthbase"):
            bases[key[len("branch."):-len(".berthbase")]] = value
    return bases


def _commit(cwd: str, rev: str) -> str | None:
    result = _run_git(cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"])
    return os.fsdecode(result.stdout).strip() if result.returncode == 0 else None


def _base_commit(cwd: str, base: str) -> str | None:
    """A recorded base (a local or remote-tracking branch's short name) as a commit."""
    for rev in (f"refs/heads/{base}", f"refs/remotes/{base}", base):
        commit = _commit(cwd, rev)
        if commit is not None:
            return commit
    return None


def _inside(repo: Repository, worktree: str) -> dict[str, str]:
    """Where git is to find a linked worktree's repository, from what git on the host made, not
    from its `.git` file, which its agent can rewrite (a `gitdir:` of its own, with a config that
    runs commands): its folder in the repository's git directory, checked to lead back to it."""
    linked = linked_worktree(worktree)
    if linked is None or linked.common != repo.common_dir:
        raise Conflict(f"The worktree {worktree}'s .git file does not lead back to the repository "
                       f"{repo.toplevel}; Berth reads nothing there (was it changed?).",
                       field="branch", value=worktree)
    return {"GIT_DIR": linked.admin, "GIT_COMMON_DIR": linked.common, "GIT_WORK_TREE": worktree}


def _changed_files(repo: Repository, worktree: str, *, ignored: bool = False) -> list[str]:
    """Uncommitted changes and untracked files (with IGNORED: the ignored files instead, each
    folder of them once). Submodules are not entered (their commits count, their files not): a
    submodule's config is the agent's."""
    what = ["--ignored=traditional", "--untracked-files=normal"] if ignored else \
        ["--untracked-files=all"]
    out = _git(worktree, "status", "--porcelain=v1", "-z", *what, "--ignore-submodules=dirty",
               where=_inside(repo, worktree),
               purpose=f"read the status of the worktree {worktree}")
    names = []
    fields = out.split("\0")
    i = 0
    while i < len(fields):
        field = fields[i]
        i += 1
        if len(field) < 4:
            continue
        if not ignored or field.startswith("!!"):
            names.append(field[3:])
        if field[0] in "RC" or field[1] in "RC":
            i += 1  # a rename's or copy's original name comes next, in a field of its own
    return names


def _describe(repo: Repository, entry: _Entry, main: _Entry, bases: dict[str, str]) -> Worktree:
    base = bases.get(entry.branch) if entry.branch is not None else None
    if base is None:
        base = main.branch
    ahead = behind = None
    base_commit = _base_commit(repo.toplevel, base) if base is not None else None
    if base_commit is not None and entry.head != _ZERO_SHA:
        counted = _run_git(repo.toplevel, ["rev-list", "--left-right", "--count",
                                           f"{base_commit}...{entry.head}"])
        if counted.returncode == 0:
            left, right = counted.stdout.split()
            behind, ahead = int(left), int(right)
    changes = len(_changed_files(repo, entry.path))
    return Worktree(path=entry.path, branch=entry.branch, head=entry.head, base=base, ahead=ahead,
                    behind=behind, dirty=changes > 0, changes=changes,
                    managed=_is_under(entry.path, repository_folder(repo)))


def _sort_key(worktree: Worktree) -> tuple[bool, str, str]:
    return (worktree.branch is None, worktree.branch or "", worktree.path)


# --- the API ---


def list_worktrees(path: str) -> list[Worktree]:
    """The repository's linked worktrees (not its main working tree), Berth's and the user's."""
    repo = repository(path)
    entries = _entries(repo.toplevel)
    bases = _recorded_bases(repo.toplevel)
    found = [_described(repo, entry, entries[0], bases) for entry in entries[1:]
             if not _gone(entry)]
    return sorted(found, key=_sort_key)


def _described(repo: Repository, entry: _Entry, main: _Entry, bases: dict[str, str]) -> Worktree:
    """As `_describe`, but one worktree that cannot be read (its `.git` file rewritten by its
    agent, say) is listed with why, rather than failing the whole listing."""
    try:
        return _describe(repo, entry, main, bases)
    except BerthError as exc:
        return Worktree(path=entry.path, branch=entry.branch, head=entry.head, base=None,
                        ahead=None, behind=None, dirty=True, changes=0,
                        managed=_is_under(entry.path, repository_folder(repo)), error=exc.message)


def find_worktree(path: str, ref: str) -> Worktree:
    """A linked worktree by its branch name or its path (relative to the current folder)."""
    repo = repository(path)
    entries = _entries(repo.toplevel)
    return _describe(repo, _find(repo, entries, ref), entries[0], _recorded_bases(repo.toplevel))


def _find(repo: Repository, entries: list[_Entry], ref: str) -> _Entry:
    if not ref:
        raise BadInput("Name a worktree by its branch or its path.", field="branch", value=ref)
    main, linked = entries[0], [e for e in entries[1:] if not _gone(e)]
    short = ref.removeprefix("refs/heads/")
    for entry in linked:
        if entry.branch is not None and entry.branch == short:
            return entry
    real = os.path.realpath(ref)
    for entry in linked:
        if entry.path == real:
            return entry
    if (main.branch is not None and main.branch == short) or real == main.path:
        raise NotFound(f"{ref} is the main working tree {main.path}, not a worktree of its own.",
                       field="branch", value=ref)
    raise NotFound(f"No worktree of the repository {repo.toplevel} has the branch or path {ref}.",
                   field="branch", value=ref)


def ensure_worktree(path: str, branch: str, base: str | None = None) -> tuple[Worktree, bool]:
    """BRANCH's worktree, made now (True) or found (False). A new branch starts at BASE, by default
    the main working tree's current branch; BASE is ignored for a branch that exists already."""
    repo = repository(path)
    _check_branch_name(repo.toplevel, branch)
    entries = _entries(repo.toplevel)
    main = entries[0]
    folder = repository_folder(repo)
    for entry in entries:
        if entry.branch != branch:
            continue
        if entry is main:
            raise Conflict(f"The branch {branch} is checked out in the main working tree "
                           f"{main.path}; give the agent a branch of its own.",
                           field="branch", value=branch)
        if not _gone(entry):
            return _describe(repo, entry, main, _recorded_bases(repo.toplevel)), False
        if not _is_under(entry.path, folder):
            raise Conflict(f"The branch {branch} is checked out in the worktree {entry.path}, whose "
                           f"folder is gone; run git worktree prune in {repo.toplevel} and try again.",
                           field="branch", value=branch)
        # Berth's own worktree, deleted by hand: its registration is all that is left of it.
        _git(repo.toplevel, "worktree", "remove", "--end-of-options", entry.path, error=Conflict,
             purpose=f"clear the missing worktree {entry.path} of the branch {branch}")
        entries = _entries(repo.toplevel)

    exists = _commit(repo.toplevel, f"refs/heads/{branch}") is not None
    start, record = (None, None) if exists else _start_of(repo, main, base)
    made = _make_folders(folder)
    target = _free_path(os.path.realpath(folder), _slug(branch), entries)
    try:
        if start is None:
            _git(repo.toplevel, "worktree", "add", "--quiet", "--end-of-options", target, branch,
                 purpose=f"make a worktree for the branch {branch} at {target}")
        else:
            # The commit checked, not the name: what was verified is what the branch starts at.
            _git(repo.toplevel, "worktree", "add", "--quiet", "-b", branch, "--end-of-options",
                 target, start, purpose=f"make a worktree for the new branch {branch} at {target}")
    except BerthError:
        _undo(repo, target, made, branch, start)
        raise
    try:
        if start is not None:
            key = f"branch.{branch}.berthBase"
            if record is not None:
                _git(repo.toplevel, "config", "--end-of-options", key, record,
                     purpose=f"record the base branch {record} of {branch}")
            else:  # a base that is no branch; a stale record would compare with the wrong one
                _run_git(repo.toplevel, ["config", "--unset-all", "--end-of-options", key])
        entries = _entries(repo.toplevel)
        made_entry = next((e for e in entries if e.path == target), None)
        if made_entry is None:
            raise BerthError(f"git made no worktree at {target} for the branch {branch}.")
    except BerthError:
        _undo(repo, target, made, branch, start)
        raise
    _give_to_owner(repo, target, branch)
    return _describe(repo, made_entry, entries[0], _recorded_bases(repo.toplevel)), True


def _give_to_owner(repo: Repository, worktree: str | None = None, branch: str = "") -> None:
    """As root, on another user's repository: what root just made for a worktree becomes the
    owner's (see the module's docstring): the worktree, its folder in the git directory, the
    branch's ref and reflog, and the config (only the config without WORKTREE: git rewrites it
    whole). Nothing else (the folders above the worktree stay root's), only what root owns, and
    never through a link: every folder is opened without following one, since a sandbox's agent
    can write the git directory meanwhile."""
    owner = os.stat(repo.toplevel)
    if os.geteuid() != 0 or owner.st_uid == 0:
        return
    ids = (owner.st_uid, owner.st_gid)
    _chown_tree(repo.common_dir, "config", ids, tree=False)
    if worktree is None:
        return
    _chown_tree(os.path.dirname(worktree), os.path.basename(worktree), ids)
    linked = linked_worktree(worktree)
    if linked is not None:
        _chown_tree(repo.common_dir, os.path.relpath(linked.admin, repo.common_dir), ids)
    for rel in (f"refs/heads/{branch}", f"logs/refs/heads/{branch}"):
        _chown_tree(repo.common_dir, rel, ids, tree=False)


def _chown_tree(base: str, rel: str, ids: tuple[int, int], *, tree: bool = True) -> None:
    """Give BASE/REL, the folders on the way to it and, with TREE, all below it to IDS where root
    owns them, opening each folder without following a link; what is not there (or is a link) is
    left alone."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        for part in parts[:-1]:
            # A folder on the way may be new too (refs/heads/agent/ for agent/x).
            _chown_root_owned(part, fd, ids)
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        _chown_root_owned(parts[-1], fd, ids)
        if not tree or not stat.S_ISDIR(os.stat(parts[-1], dir_fd=fd,
                                                follow_symlinks=False).st_mode):
            return
        for _folder, dirs, files, folder_fd in os.fwalk(parts[-1], dir_fd=fd):
            for name in dirs + files:
                _chown_root_owned(name, folder_fd, ids)
    except OSError as exc:
        log.warning("Could not give %s/%s to its repository's owner: %s", base, rel, exc)
    finally:
        os.close(fd)


def _chown_root_owned(name: str, dir_fd: int, ids: tuple[int, int]) -> None:
    with contextlib.suppress(FileNotFoundError):
        if os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_uid == 0:
            os.chown(name, *ids, dir_fd=dir_fd, follow_symlinks=False)


def branch_exists(path: str, branch: str) -> bool:
    return _commit(repository(path).toplevel, f"refs/heads/{branch}") is not None


def drop_new_branch(path: str, branch: str, head: str) -> None:
    """Delete BRANCH when it is still at HEAD (the commit it was made at just now) and checked out
    nowhere: what a run that failed right after making it leaves."""
    repo = repository(path)
    if not any(entry.branch == branch for entry in _entries(repo.toplevel)):
        _run_git(repo.toplevel, ["update-ref", "-d", f"refs/heads/{branch}", head])
        _run_git(repo.toplevel, ["config", "--remove-section", "--end-of-options",
                                 f"branch.{branch}"])
        _give_to_owner(repo)


def _check_branch_name(cwd: str, branch: str) -> None:
    # check-ref-format echoes the name it would use: "@{-1}" comes back as another branch's name.
    if branch and not branch.startswith("-") and branch != "HEAD":
        result = _run_git(cwd, ["check-ref-format", "--branch", branch])
        if result.returncode == 0 and os.fsdecode(result.stdout).strip() == branch:
            return
    raise BadInput(f"'{branch}' is not a valid branch name (see git check-ref-format).",
                   field="branch", value=branch)


def _start_of(repo: Repository, main: _Entry, base: str | None) -> tuple[str, str | None]:
    """(commit a new branch starts at, branch name to record as its base or None)."""
    if base is None:
        if main.branch is None:  # detached: its commit, and no branch to compare with later
            return main.head, None
        commit = _commit(repo.toplevel, f"refs/heads/{main.branch}")
        if commit is None:
            raise BadInput(f"The branch {main.branch} of the main working tree {main.path} has no "
                           "commits yet; commit once, or name a base.", field="base", value=main.branch)
        return commit, main.branch
    commit = _commit(repo.toplevel, base) if base else None
    if commit is None:
        raise BadInput(f"The base {base} is not a commit, branch or tag of the repository "
                       f"{repo.toplevel}.", field="base", value=base)
    full = _run_git(repo.toplevel, ["rev-parse", "--verify", "--quiet", "--symbolic-full-name",
                                    "--end-of-options", base])
    name = os.fsdecode(full.stdout).strip() if full.returncode == 0 else ""
    for prefix in ("refs/heads/", "refs/remotes/"):
        if name.startswith(prefix):
            return commit, name[len(prefix):]
    return commit, None


def _make_folders(folder: str) -> list[str]:
    """Makes FOLDER and its missing parents; returns those it made, outermost first."""
    missing = []
    current = folder
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    made: list[str] = []
    try:
        for each in reversed(missing):
            os.mkdir(each, 0o700)
            made.append(each)
    except OSError as exc:
        _remove_empty(made)
        raise BadInput(f"Could not make the folder {exc.filename or folder} for worktrees: "
                       f"{exc.strerror}.", field="path", value=folder) from None
    if not os.path.isdir(folder):
        raise BadInput(f"{folder} is not a folder, so worktrees can't go in it.", field="path",
                       value=folder)
    return made


def _remove_empty(folders: list[str]) -> None:
    """Removes FOLDERS (outermost first) that are empty, innermost first."""
    for each in reversed(folders):
        try:
            os.rmdir(each)
        except OSError:
            return


def _free_path(folder: str, slug: str, entries: list[_Entry]) -> str:
    """A new empty folder for the worktree, made here (git takes an empty one): made, not only
    chosen, so that two runs at once never pick the same, and a failed add removes only its own."""
    # A registered path whose folder is gone is taken too: git refuses to add a worktree there.
    registered = {entry.path for entry in entries}
    candidate, n = os.path.join(folder, slug), 1
    while True:
        if candidate not in registered:
            try:
                os.mkdir(candidate, 0o755)
                return candidate
            except FileExistsError:
                pass
        n += 1
        candidate = os.path.join(folder, f"{slug}-{n}")


def _forget(repo: Repository, target: str) -> None:
    """Drop git's record of the worktree at TARGET only (`git worktree prune` would drop every
    worktree whose folder is away, a user's on an unmounted disk with them)."""
    folder = os.path.join(repo.common_dir, "worktrees")
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        with contextlib.suppress(OSError), \
                open(os.path.join(folder, name, "gitdir"), encoding="utf-8") as f:
            if os.path.dirname(f.read().strip()) == target:
                shutil.rmtree(os.path.join(folder, name))


def _undo(repo: Repository, target: str, made: list[str], branch: str, start: str | None) -> None:
    """After a failed `git worktree add`: nothing of it is to be left behind. git cleans up after
    itself on most failures; this covers the rest, and never hides the failure itself."""
    try:
        # TARGET was made by this call (`_free_path`): whatever is there now is the failed add's.
        if os.path.lexists(target):
            shutil.rmtree(target, ignore_errors=True)
        entries = _entries(repo.toplevel)
        if any(entry.path == target for entry in entries):
            _forget(repo, target)
        # `worktree add -b` makes the branch before checking it out; only a branch still at the
        # start it was given and checked out nowhere is that one.
        if start is not None and not any(entry.branch == branch for entry in entries):
            _run_git(repo.toplevel, ["update-ref", "-d", f"refs/heads/{branch}", start])
    except BerthError as exc:
        log.warning("Could not clean up after the failed worktree %s: %s", target, exc.message)
    finally:
        _remove_empty(made)


def removable(path: str, ref: str, *, discard_ignored: bool = False) -> Worktree:
    """The worktree REF, if Berth may remove it: one it made, with no uncommitted changes or
    untracked files, and no files git ignores (an `.env`, say: an agent writes `.gitignore`)
    unless DISCARD_IGNORED. Raises Conflict, naming the first few files, otherwise."""
    repo = repository(path)
    entries = _entries(repo.toplevel)
    worktree = _describe(repo, _find(repo, entries, ref), entries[0], _recorded_bases(repo.toplevel))
    if not worktree.managed:
        raise Conflict(f"The worktree {worktree.path} was not made by Berth; remove it with "
                       "git worktree remove.", field="branch", value=ref)
    if worktree.changes:
        names = _changed_files(repo, worktree.path)
        noun, them = ("change", "it") if len(names) == 1 else ("changes", "them")
        raise Conflict(f"The worktree {worktree.path} has {len(names)} uncommitted {noun} "
                       f"({_first(names)}); commit, stash or discard {them} first. Nothing was "
                       "removed.", field="branch", value=ref)
    ignored = [] if discard_ignored else _changed_files(repo, worktree.path, ignored=True)
    if ignored:
        raise Conflict(f"The worktree {worktree.path} holds files git ignores ({_first(ignored)}), "
                       "which removing it would delete; remove it with them only if they can go "
                       "(berth worktrees rm --discard-ignored). Nothing was removed.",
                       field="branch", value=ref, ignored=ignored[:_IGNORED_LISTED])
    return worktree


def _first(names: list[str]) -> str:
    return ", ".join(names[:_HOW_MANY_NAMED]) + (", ..." if len(names) > _HOW_MANY_NAMED else "")


def remove_worktree(path: str, ref: str, *, discard_ignored: bool = False) -> Worktree:
    """Removes a worktree Berth made, if `removable`; its branch and commits stay. Returns the
    worktree as it was."""
    repo = repository(path)
    worktree = removable(path, ref, discard_ignored=discard_ignored)
    # No --force: git's own check for changes is a second guard against losing work.
    _git(repo.toplevel, "worktree", "remove", "--end-of-options", worktree.path, error=Conflict,
         scan=[worktree.path], purpose=f"remove the worktree {worktree.path}")
    with contextlib.suppress(OSError):  # other worktrees are still in it
        os.rmdir(repository_folder(repo))
    return worktree


def diff(path: str, ref: str) -> str:
    """The worktree's changes since it left its base, uncommitted ones included (untracked files are
    in no diff)."""
    repo = repository(path)
    entries = _entries(repo.toplevel)
    worktree = _describe(repo, _find(repo, entries, ref), entries[0], _recorded_bases(repo.toplevel))
    if worktree.base is None:
        raise BadInput(f"The worktree {worktree.path} has no base branch to compare with.",
                       field="branch", value=ref)
    base_commit = _base_commit(repo.toplevel, worktree.base)
    if base_commit is None:
        raise BadInput(f"The base branch {worktree.base} of the worktree {worktree.path} does not "
                       "exist any more.", field="branch", value=ref)
    fork = _run_git(repo.toplevel, ["merge-base", base_commit, worktree.head])
    if fork.returncode != 0:
        raise BadInput(f"The worktree {worktree.path} has no commit in common with its base "
                       f"{worktree.base}.", field="branch", value=ref)
    out = _git(worktree.path, "diff", "--no-ext-diff", "--no-textconv", "--no-color",
               "--ignore-submodules=dirty", os.fsdecode(fork.stdout).strip(), "--",
               where=_inside(repo, worktree.path), purpose=f"diff the worktree {worktree.path}")
    # A diff is for reading and sending on: bytes that aren't UTF-8 become U+FFFD.
    return os.fsencode(out).decode("utf-8", errors="replace")
