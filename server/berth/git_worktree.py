"""Git in a workspace that is a linked worktree (`git worktree add`): what to mount so git works inside.

A linked worktree's `.git` is a file naming its administrative folder inside the main repository's
git directory (`<common>/worktrees/NAME`), which is outside the workspace, so git in a sandbox that
mounts only the workspace finds no repository. Berth mounts that common git directory at its own
path too, since every path is the host's.

Both the `.git` file and the workspace are written by the agent, so what they say is checked against
what only git on the host made: the folder named must be `<common>/worktrees/NAME` of a git directory,
its `commondir` must lead back to that same directory, and its `gitdir` must name this workspace's
`.git`. Anything else mounts nothing. The common directory goes in read-only, with read-write only
where committing writes (objects, refs, reflogs, this worktree's own folder): its `config` and `hooks`
decide what git runs on the host, and must stay the user's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)

# What a commit, a branch and a reset write in the common directory.
WRITABLE = ("objects", "refs", "logs")


@dataclass(frozen=True)
class LinkedWorktree:
    common: str  # the main repository's git directory, e.g. /home/ada/repo/.git
    admin: str  # this worktree's folder in it, e.g. /home/ada/repo/.git/worktrees/feature

    def mounts(self) -> list[tuple[str, bool]]:
        """(host path, read-only) to mount at the same path, parents first."""
        out = [(self.common, True)]
        out += [(os.path.join(self.common, name), False) for name in WRITABLE
                if os.path.isdir(os.path.join(self.common, name))]
        # With per-worktree config on, this folder may hold a config.worktree the host's git
        # reads (hooks, fsmonitor): then it stays read-only, and git can only read.
        out.append((self.admin, _worktree_config(self.common)))
        return out


def linked_worktree(workspace: str) -> LinkedWorktree | None:
    """The workspace's linked worktree, when it is one git on the host made; None otherwise
    (no `.git` file, a main working tree, or a `.git` file that does not check out)."""
    dot_git = os.path.join(workspace, ".git")
    if not os.path.isfile(dot_git) or os.path.islink(dot_git):
        return None
    pointed = _read_gitdir(dot_git)
    if pointed is None:
        return None
    admin = os.path.realpath(pointed if os.path.isabs(pointed)
                             else os.path.join(workspace, pointed))
    worktrees = os.path.dirname(admin)
    common = os.path.dirname(worktrees)
    reason = _refusal(workspace, admin, worktrees, common)
    if reason is not None:
        log.warning("Not mounting the git directory %s for %s: %s", common, workspace, reason)
        return None
    if common == workspace or common.startswith(workspace.rstrip("/") + "/"):
        return None  # inside the workspace: mounted already
    return LinkedWorktree(common, admin)


def _refusal(workspace: str, admin: str, worktrees: str, common: str) -> str | None:
    if os.path.basename(worktrees) != "worktrees":
        return f"{admin} is not in a git directory's worktrees folder"
    if not all(os.path.exists(os.path.join(common, p)) for p in ("HEAD", "objects", "refs")):
        return f"{common} is not a git directory"
    back = _read_file(os.path.join(admin, "commondir"))
    if back is None or os.path.realpath(os.path.join(admin, back)) != common:
        return f"{admin}/commondir does not lead back to {common}"
    gitdir = _read_file(os.path.join(admin, "gitdir"))
    if gitdir is None or os.path.realpath(os.path.join(admin, gitdir)) != os.path.realpath(
            os.path.join(workspace, ".git")):
        return f"{admin}/gitdir does not name this workspace"
    if common in ("/", os.path.realpath(os.path.expanduser("~"))):
        return f"{common} is not a repository's git directory"
    return None


def _read_gitdir(path: str) -> str | None:
    text = _read_file(path)
    if text is None or not text.startswith("gitdir:"):
        return None
    return text[len("gitdir:"):].strip() or None


def _read_file(path: str) -> str | None:
    """The first line of a small file the agent may have written (bounded; never a FIFO)."""
    try:
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(4096).splitlines()[0].strip() if f else None
    except (OSError, IndexError):
        return None


def _worktree_config(common: str) -> bool:
    """Whether the repository's config turns on per-worktree config (`extensions.worktreeConfig`)."""
    try:
        with open(os.path.join(common, "config"), encoding="utf-8", errors="replace") as f:
            lines = f.read(1 << 20).splitlines()
    except OSError:
        return True  # cannot tell: read-only
    section = ""
    for line in lines:
        text = line.split("#", 1)[0].split(";", 1)[0].strip()
        if text.startswith("["):
            section = text.strip("[]").strip().lower()
        elif section == "extensions" and "=" in text:
            key, _, value = text.partition("=")
            if key.strip().lower() == "worktreeconfig":
                return value.strip().lower() in ("true", "yes", "on", "1")
    return False
