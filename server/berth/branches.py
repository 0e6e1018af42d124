"""Agent branches: a git worktree per branch (berth.worktrees), each with its own sandbox.

`berth run --branch` and `sandbox/run` with `branch` make (or reuse) the worktree and run the
sandbox whose workspace it is; listings pair each worktree with its sandboxes; removal takes the
sandboxes and then the worktree, never a worktree with uncommitted work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from berth import worktrees
from berth.engine import Engine
from berth.errors import BerthError
from berth.models import RunResult, Sandbox
from berth.selection import Selection
from berth.worktrees import Worktree


@dataclass(frozen=True)
class AgentBranch:
    worktree: Worktree
    sandboxes: list[Sandbox]

    def to_json(self) -> dict[str, Any]:
        return {**self.worktree.to_json(), "sandboxes": [s.to_json() for s in self.sandboxes]}


def run_on_branch(repository: str, branch: str, base: str | None,
                  run: Callable[[str], RunResult]) -> tuple[RunResult, Worktree, bool]:
    """BRANCH's worktree of the repository at REPOSITORY (made when missing, from BASE), and `run`
    of its sandbox (given the worktree's path); whether the worktree was made now. A worktree made
    now for a run that failed is removed again (and so is a branch made with it): it holds nothing
    yet."""
    existed = worktrees.branch_exists(repository, branch)
    worktree, made = worktrees.ensure_worktree(repository, branch, base)
    try:
        result = run(worktree.path)
    except BaseException:
        if made:
            # If it cannot go, it stays: nothing is lost, and the failure is the news.
            with contextlib.suppress(BerthError):
                worktrees.remove_worktree(repository, worktree.path)
                if not existed:
                    worktrees.drop_new_branch(repository, branch, worktree.head)
        raise
    return result, worktree, made


def list_branches(engine: Engine, repository: str) -> list[AgentBranch]:
    """Every linked worktree of the repository, with the sandboxes whose workspace it is."""
    found = worktrees.list_worktrees(repository)
    sandboxes = engine.list() if found else []
    return [AgentBranch(w, [s for s in sandboxes if s.workspace == w.path]) for w in found]


def remove_branch(engine: Engine, repository: str, ref: str, *,
                  discard_ignored: bool = False) -> tuple[Worktree, list[str]]:
    """Remove the worktree of branch (or path) REF, which Berth made, and its sandboxes; its branch
    and commits stay. Refused, with nothing changed, when it has uncommitted changes, untracked
    files or (unless DISCARD_IGNORED) files git ignores; checked again as the worktree goes, so
    what an agent writes meanwhile is not lost either (its sandbox is gone by then)."""
    worktree = worktrees.removable(repository, ref, discard_ignored=discard_ignored)
    ids = [s.full_id for s in engine.list() if s.workspace == worktree.path]
    removed = engine.remove(Selection(ids=tuple(ids))) if ids else []
    worktrees.remove_worktree(repository, worktree.path, discard_ignored=discard_ignored)
    return worktree, removed
