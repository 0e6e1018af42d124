"""Starting a workspace's sandbox (creating or recreating it when needed): the one path `sandbox/run`,
`sandbox/recreate` and auto-start share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from berth.config import ConfigRequest
from berth.lsp.progress import ProgressReporter
from berth.models import RunResult
from berth.trust import require_consent

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.lsp.server import Workers
    from berth.lsp.status import StatusPublisher


class SandboxStarter:
    def __init__(self, engine: Engine, folders: Folders, status: StatusPublisher,
                 workers: Workers, server: LanguageServer, warn: Callable[[str], None]) -> None:
        self._engine = engine
        self._folders = folders
        self._status = status
        self._workers = workers
        self._server = server  # for `$/progress`
        self._warn = warn

    async def start(self, workspace: str, request: ConfigRequest, agent_args: tuple[str, ...] = (),
                    *, recreate: bool = False, explicit: ConfigRequest | None = None,
                    accepted: list[str] | None = None, name: str | None = None,
                    folder: str | None = None,
                    drift_from: ConfigRequest | None = None, framed: bool = False) -> RunResult:
        """engine.run with `$/progress`, transient statuses and warnings; `name`: the workspace's
        sandbox of that name rather than its default one. `folder`: the open folder whose settings
        `request` holds, when the workspace is not that folder itself (an agent branch's worktree).

        Values that only the folder's own files ask for are checked by the engine's guard, under
        the workspace's lock, right before anything would be created (trust.py)."""
        items = await self._workers.engine(self._folders.consent_items, folder or workspace,
                                           explicit or ConfigRequest())
        guard = require_consent(items, accepted or [], items[0].source if items else "")
        title = f"Berth: {'recreating' if recreate else 'starting'} sandbox"
        try:
            async with ProgressReporter(self._server, self._status, title, workspace,
                                        name) as progress:
                result = await self._workers.engine(
                    self._engine.run, workspace, request, agent_args, recreate=recreate,
                    progress=progress, guard=guard, name=name, drift_from=drift_from,
                    framed=framed)
        finally:
            # Also after a failure: the transient `creating` must give way to the engine's truth.
            self._status.soon(workspace, name)
        for warning in result.warnings:
            self._warn(warning)
        return result
