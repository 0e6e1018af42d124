"""Pushing `sandbox/didChangeStatus`: computed from the engine, sent only when it changed."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from berth.errors import BerthError, EngineUnavailable
from berth.models import Status

if TYPE_CHECKING:
    from berth.lsp.app import BerthServer

log = logging.getLogger(__name__)

NOTIFICATION = "sandbox/didChangeStatus"


class StatusPublisher:
    def __init__(self, server: BerthServer) -> None:
        self._server = server
        self._sent: dict[str, dict[str, Any]] = {}
        # Refreshes run concurrently on worker threads; a later-started one saw a later engine state,
        # so an earlier one finishing after it must not overwrite it.
        self._started: dict[str, int] = {}
        self._shown: dict[str, int] = {}
        self.engine_available = True
        self._tasks: set[asyncio.Task[None]] = set()

    def soon(self, workspace: str | None = None) -> None:
        """Refresh one workspace (or all) in the background: a request's answer need not wait for
        the status, which follows as a notification. The task is kept until done (asyncio holds
        only weak references to tasks)."""
        coro = self.refresh(workspace) if workspace else self.refresh_all()
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def last(self, workspace: str) -> dict[str, Any] | None:
        return self._sent.get(workspace)

    def publish(self, status: Status | dict[str, Any]) -> None:
        data = status.to_json() if isinstance(status, Status) else status
        workspace = data["workspace"]
        if self._sent.get(workspace) == data:
            return
        self._sent[workspace] = data
        self._server.protocol.notify(NOTIFICATION, data)

    def _supersede(self, workspace: str) -> None:
        """What is published now is newer than any refresh under way: those are dropped."""
        self._started[workspace] = self._started.get(workspace, 0) + 1
        self._shown[workspace] = self._started[workspace]

    def _known(self) -> set[str]:
        """Every open folder, and every workspace a status was ever sent for."""
        return {f.path for f in self._server.folders} | set(self._sent)

    def transient(self, workspace: str, state: str, message: str | None = None) -> None:
        """A state only this server knows of (creating, starting, stopping, removing)."""
        self._supersede(workspace)
        previous = self._sent.get(workspace) or {}
        data = {"workspace": workspace, "state": state, "sandbox": previous.get("sandbox"),
                "drift": previous.get("drift", [])}
        if message:
            data["message"] = message
        self.publish(data)

    def died(self, workspace: str, container_id: str) -> None:
        """The engine said the workspace's running container died: show it stopped at once.

        Refreshes already under way saw it running and are dropped; the refresh that follows the
        event (which reads the container itself) confirms or corrects this.
        """
        previous = self._sent.get(workspace) or {}
        sandbox = previous.get("sandbox")
        if (previous.get("state") != "running" or not sandbox
                or not container_id.startswith(sandbox["id"])):
            return
        self._supersede(workspace)
        self.publish({**previous, "state": "stopped", "sandbox": {**sandbox, "status": "exited"}})

    async def refresh(self, workspace: str) -> None:
        ticket = self._started.get(workspace, 0) + 1
        self._started[workspace] = ticket
        server = self._server
        folder = server.folders.get(workspace)
        request = server.folders.settings_for(workspace) if folder else None
        try:
            status = await server.in_worker(server.engine.status, workspace, request)
        except EngineUnavailable as exc:
            self.set_unavailable(exc.message)
            return
        except BerthError as exc:
            status = Status(workspace=workspace, state="error", message=exc.message)
        if ticket < self._shown.get(workspace, 0):
            return
        self._shown[workspace] = ticket
        if folder and folder.settings_error:
            status = Status(status.workspace, status.state, status.sandbox, status.drift,
                            folder.settings_error)
        if status.state == "absent" and folder is None and workspace not in self._sent:
            return  # nobody was told about this workspace; its sandbox never existed for us
        self.publish(status)

    async def refresh_all(self) -> None:
        await asyncio.gather(*(self.refresh(w) for w in self._known()))

    def set_unavailable(self, message: str) -> None:
        for workspace in self._known():
            previous = self._sent.get(workspace) or {}
            self.publish({"workspace": workspace, "state": "unavailable",
                          "sandbox": previous.get("sandbox"), "drift": [], "message": message})
