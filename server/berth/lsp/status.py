"""Pushing `sandbox/didChangeStatus`: computed from the engine, sent only when it changed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth.engine.connection import unavailable
from berth.errors import BerthError, EngineUnavailable
from berth.lsp.tasks import Background
from berth.models import Slot, Status, out_of_memory_message

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.lsp.server import Workers

log = logging.getLogger(__name__)

NOTIFICATION = "sandbox/didChangeStatus"

# A status that could not be read is read again after these many seconds, doubling up to the last.
RETRY_FIRST = 0.5
RETRY_MAX = 5.0


class StatusPublisher:
    def __init__(self, notify: Callable[[str, Any], None], folders: Folders, engine: Engine,
                 workers: Workers, background: Background) -> None:
        self._notify = notify
        self._folders = folders
        self._engine = engine
        self._workers = workers
        self._background = background
        # Keyed by slot: a workspace's default sandbox, and each it has by name.
        self._sent: dict[Slot, Status] = {}
        # Refreshes run concurrently on worker threads; a later-started one saw a later engine state,
        # so an earlier one finishing after it must not overwrite it.
        self._started: dict[Slot, int] = {}
        self._shown: dict[Slot, int] = {}
        # Workspaces whose last read failed. Nothing on the engine need change for them to come
        # right again (no event follows a slow call), so they are re-read until a read succeeds.
        self._failed: set[Slot] = set()
        self._recovery: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # One-shot callbacks run once a workspace's status is next read from the engine (auto-start
        # waiting for an engine that was not answering).
        self._when_read: dict[str, Callable[[], None]] = {}
        self._listeners: list[Callable[[Status], None]] = []
        # Sandboxes (the container's id) the kernel ended a process of for want of memory since
        # they last started: the engine's `oom` event says so once, and nothing it keeps does.
        self._oom: dict[Slot, str] = {}

    def soon(self, workspace: str | None = None, name: str | None = None) -> None:
        """Refresh one sandbox (a workspace's default one, or its one of that name), or all, in the
        background: a request's answer need not wait for the status, which follows as a
        notification."""
        coro = self.refresh(workspace, name) if workspace else self.refresh_all()
        self._background.spawn(coro, f"reading the status of {workspace or 'every folder'}")

    def last(self, workspace: str, name: str | None = None) -> Status | None:
        return self._sent.get((workspace, name))

    def publish(self, status: Status) -> None:
        """Send the status unless clients were last sent the same (as they see it: its JSON)."""
        data = status.to_json()
        previous = self._sent.get(status.slot)
        if previous is None or previous.to_json() != data:
            self._sent[status.slot] = status
            self._notify(NOTIFICATION, data)
            for listener in self._listeners:
                listener(status)
        if status.state == "absent" and (status.name is not None
                                         or self._folders.get(status.workspace) is None):
            # Said once: a named or another folder's sandbox that is gone is forgotten, or every
            # later engine outage would announce it `unavailable` again.
            self._sent.pop(status.slot, None)
        # The first status known again, from whichever path (a read, a request's own result, an
        # event): a callback left for a later one would act on a state it was not meant for (an
        # auto-start deferred while the engine was away restarting a sandbox the user just stopped).
        if status.state not in ("unavailable", "error") and status.name is None:
            callback = self._when_read.pop(status.workspace, None)
            if callback is not None:
                callback()

    def listen(self, listener: Callable[[Status], None]) -> None:
        """Call `listener` with each status sent (on the loop)."""
        self._listeners.append(listener)

    def _supersede(self, slot: Slot) -> None:
        """What is published now is newer than any refresh under way: those are dropped."""
        self._started[slot] = self._started.get(slot, 0) + 1
        self._shown[slot] = self._started[slot]

    def _known(self) -> set[Slot]:
        """Every open folder's default sandbox, and every sandbox a status was ever sent for."""
        return {(f.path, None) for f in self._folders} | set(self._sent)

    def transient(self, workspace: str, state: str, message: str | None = None,
                  name: str | None = None) -> None:
        """A state only this server knows of (creating, starting, stopping, removing)."""
        slot = (workspace, name)
        self._supersede(slot)
        previous = self._sent.get(slot)
        self.publish(Status(workspace, state, previous.sandbox if previous else None,
                            previous.drift if previous else [], message, name=name))

    def died(self, workspace: str, name: str | None, container_id: str) -> None:
        """The engine said the workspace's running container died: show it stopped at once.

        Refreshes already under way saw it running and are dropped; the refresh that follows the
        event (which reads the container itself) confirms or corrects this.
        """
        previous = self._sent.get((workspace, name))
        if (previous is None or previous.state != "running" or previous.sandbox is None
                or not container_id.startswith(previous.sandbox.id)):
            return
        self._supersede((workspace, name))
        stopped = dataclasses.replace(previous.sandbox, status="exited")
        message = None if self._oom.pop((workspace, name), None) else previous.message
        self.publish(dataclasses.replace(previous, state=stopped.state, sandbox=stopped,
                                         message=message))

    def out_of_memory(self, workspace: str, name: str | None, container_id: str) -> None:
        """The engine said the kernel ended a process in the sandbox for want of memory."""
        self._oom[(workspace, name)] = container_id

    def started(self, workspace: str, name: str | None) -> None:
        """The sandbox's container (re)started: what happened to its memory before is past."""
        self._oom.pop((workspace, name), None)

    def _with_oom(self, slot: Slot, status: Status) -> Status:
        oom = self._oom.get(slot)
        sandbox = status.sandbox
        # A stopped one's own record says whether memory was what stopped it (oom_killed).
        if (not oom or sandbox is None or not oom.startswith(sandbox.id) or status.message
                or status.state != "running"):
            return status
        return dataclasses.replace(status, message=out_of_memory_message(sandbox, stopped=False))

    async def refresh(self, workspace: str, name: str | None = None) -> None:
        slot = (workspace, name)
        ticket = self._started.get(slot, 0) + 1
        self._started[slot] = ticket
        folder = self._folders.get(workspace)
        request = self._folders.settings_for(workspace) if folder and name is None else None
        failure: BerthError | None = None
        try:
            status = await self._workers.engine(self._engine.status, workspace, request, name)
        except BerthError as exc:
            failure = exc
            status = Status(workspace=workspace, state="error", message=exc.message, name=name)
        if ticket < self._shown.get(slot, 0):
            return  # a later read is shown already
        self._shown[slot] = ticket
        if failure is not None:
            # One failed read says little about the engine (a slow call, a dropped connection):
            # only this sandbox shows it, and it is read again until a read succeeds.
            self._retry(slot)
        else:
            self._failed.discard(slot)
        known = (folder is not None and name is None) or slot in self._sent
        if isinstance(failure, EngineUnavailable):
            if known:
                self._publish_unavailable(slot, failure.message)
            return
        if folder and name is None and folder.settings_error:
            status = dataclasses.replace(status, message=folder.settings_error)
        if status.state == "absent" and not known:
            return  # nobody was told about this sandbox; it never existed for us
        self.publish(self._with_oom(slot, status))

    async def refresh_workspace(self, workspace: str) -> None:
        """Refresh the workspace's default sandbox and every one it has by name, including those
        made while this server was not looking (the CLI)."""
        try:
            names = await self._workers.engine(self._engine.names, workspace)
        except BerthError:
            names = []  # the default one's refresh says what went wrong
        names += [n for w, n in self._sent if w == workspace and n and n not in names]
        await asyncio.gather(self.refresh(workspace), *(self.refresh(workspace, n) for n in names))

    def of_workspace(self, workspace: str) -> list[Status]:
        """What was last sent for the workspace's sandboxes: its default one first, then those by
        name that exist."""
        default = self._sent.get((workspace, None)) or Status(workspace, "absent")
        return [default] + [s for (w, n), s in sorted(self._sent.items(), key=lambda i: i[0][1] or "")
                            if w == workspace and n and s.state != "absent"]

    async def refresh_all(self) -> None:
        folders = {f.path for f in self._folders}
        await asyncio.gather(*(self.refresh_workspace(w) for w in folders),
                             *(self.refresh(w, n) for w, n in self._known() if w not in folders))

    def set_unavailable(self, message: str) -> None:
        """No engine answers: every sandbox says so, and is read again once one does."""
        for slot in self._known():
            self._supersede(slot)
            self._publish_unavailable(slot, message)
            self._retry(slot)

    def _publish_unavailable(self, slot: Slot, message: str) -> None:
        previous = self._sent.get(slot)
        self.publish(Status(slot[0], "unavailable", previous.sandbox if previous else None,
                            message=message, name=slot[1]))

    def when_read(self, workspace: str, callback: Callable[[], None]) -> None:
        """Run `callback` once the workspace's status is next known: published as anything but
        unavailable or an error (it replaces any callback registered for it before)."""
        self._when_read[workspace] = callback

    def engine_answered(self) -> None:
        """A request just succeeded: the engine is likely back, so failed reads are retried now
        rather than after their back-off."""
        if self._failed:
            self._wake.set()

    def _retry(self, slot: Slot) -> None:
        self._failed.add(slot)
        if self._recovery is None or self._recovery.done():
            self._recovery = self._background.spawn(self._recover(), "re-reading failed statuses")

    async def _recover(self) -> None:
        """Re-read failed workspaces, backing off, until every one of them reads. While the engine
        does not even answer a ping, every workspace is unavailable and none is re-read."""
        delay = RETRY_FIRST
        while self._failed:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            delay = min(delay * 2, RETRY_MAX)
            if not await self._workers.engine(self._engine.ping):
                self.set_unavailable(unavailable().message)
                continue
            await asyncio.gather(*(self.refresh(w, n) for w, n in list(self._failed)))
