"""`autoStart`: what happens to a folder's sandbox when the folder opens (never, existing, always)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from berth.errors import BerthError, NeedsConsent

if TYPE_CHECKING:
    from berth.lsp.folders import Folder, Folders
    from berth.lsp.starter import SandboxStarter
    from berth.lsp.status import StatusPublisher
    from berth.lsp.tasks import Background


class AutoStart:
    def __init__(self, folders: Folders, status: StatusPublisher, starter: SandboxStarter,
                 background: Background, warn: Callable[[str], None]) -> None:
        self._folders = folders
        self._status = status
        self._starter = starter
        self._background = background
        self._warn = warn

    async def folder_opened(self, folder: Folder) -> None:
        """Decide from the folder's status, which must have been read (or tried) just before."""
        mode = folder.auto_start
        if mode == "never":
            return
        last = self._status.last(folder.path)
        state = last.state if last else None
        if state == "unavailable":
            # Docker often starts after the editor (at login): decide when the engine answers.
            self._status.when_read(folder.path, lambda: self._later(folder))
            return
        if mode == "existing" and state != "stopped":
            return  # nothing to start: absent stays absent, running stays running
        if mode == "always" and state == "running":
            return
        try:
            await self._starter.start(folder.path, folder.settings)
        except NeedsConsent as exc:
            self._warn(f"Berth did not start the sandbox for {folder.path} on its own: "
                       f"{exc.message}")
        except BerthError as exc:
            self._warn(f"Berth could not start the sandbox for {folder.path}: {exc.message}")

    def _later(self, folder: Folder) -> None:
        if self._folders.get(folder.path) is not folder:
            return  # closed meanwhile
        self._background.spawn(self.folder_opened(folder), f"auto-starting {folder.path}")
