"""The agent-branch requests: a repository's worktrees with their sandboxes, a branch's diff, and
removing a worktree (protocol.md, "Agent branches"). `sandbox/run` with `branch` makes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth import worktrees
from berth.branches import list_branches, remove_branch
from berth.errors import BadInput
from berth.lsp.sandbox_requests import Handler, only, text_param

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.lsp.server import Workers
    from berth.lsp.status import StatusPublisher

BRANCH = "branch"
DISCARD_IGNORED = "discardIgnored"


class BranchRequests:
    def __init__(self, engine: Engine, folders: Folders, status: StatusPublisher,
                 workers: Workers) -> None:
        self._engine = engine
        self._folders = folders
        self._status = status
        self._workers = workers

    def handlers(self) -> dict[str, Handler]:
        return {
            "sandbox/worktrees": self.list_,
            "sandbox/removeWorktree": self.remove,
            "sandbox/worktreeDiff": self.diff,
        }

    async def list_(self, params: dict[str, Any]) -> Any:
        only(params, ("workspace",))
        repository = self._folders.resolve(params.get("workspace"))
        # git reads every worktree's files: the command workers, not the engine's.
        found = await self._workers.command(list_branches, self._engine, repository)
        return [b.to_json() for b in found]

    async def remove(self, params: dict[str, Any]) -> Any:
        only(params, ("workspace", BRANCH, DISCARD_IGNORED))
        repository, ref = self._folders.resolve(params.get("workspace")), _ref(params)
        discard = params.get(DISCARD_IGNORED)
        if discard is not None and not isinstance(discard, bool):
            raise BadInput(f"'{DISCARD_IGNORED}' must be true or false, got {discard!r:.40}.",
                           field=DISCARD_IGNORED)
        worktree, removed = await self._workers.command(remove_branch, self._engine,
                                                        repository, ref,
                                                        discard_ignored=bool(discard))
        self._status.soon(worktree.path)
        return {"worktree": worktree.to_json(), "removed": removed}

    async def diff(self, params: dict[str, Any]) -> Any:
        only(params, ("workspace", BRANCH))
        repository, ref = self._folders.resolve(params.get("workspace")), _ref(params)
        worktree = await self._workers.command(worktrees.find_worktree, repository, ref)
        text = await self._workers.command(worktrees.diff, repository, ref)
        return {"base": worktree.base, "text": text}


def _ref(params: dict[str, Any]) -> str:
    ref = text_param(params, BRANCH)
    if ref is None:
        raise BadInput("Say which worktree: 'branch' (its branch, or its path).", field=BRANCH)
    return ref
