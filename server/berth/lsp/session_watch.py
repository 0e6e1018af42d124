"""`sandbox/didChangeSessions`: a sandbox's agent sessions, whenever one starts or exits (protocol.md,
"Sessions").

The session holder writes a line to the sandbox's own log at each start and exit; the agent watcher's
thread, which follows that log already, hands every line here. A session line only says "look
again": the sessions are then listed from the sandbox (engine.sessions), at most once per INTERVAL
per sandbox, so an agent that writes such lines in a loop costs one listing per INTERVAL.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth.errors import BerthError
from berth.selection import Selection

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.server import Workers
    from berth.lsp.tasks import Background
    from berth.models import Sandbox, Status
    from berth.sessions import Session

NOTIFICATION = "sandbox/didChangeSessions"
INTERVAL = 0.5
# The holder's lines, after the engine's own timestamp: `berth: <time> session <id> (<agent>) ...`.
_SESSION_LINE = re.compile(r"^(?:\S+ )?berth: \S+ session ")


def sessions_params(sandbox: Sandbox, sessions: list[Session]) -> dict[str, Any]:
    """The notification's params, which are also `sandbox/sessions`'s result."""
    return {"workspace": sandbox.workspace, "name": sandbox.named, "sandbox": sandbox.id,
            "sessions": [s.to_json() for s in sessions]}


class SessionWatcher:
    def __init__(self, notify: Callable[[str, Any], None], engine: Engine, workers: Workers,
                 background: Background) -> None:
        self._notify = notify
        self._engine = engine
        self._workers = workers
        self._background = background
        self._loop: asyncio.AbstractEventLoop | None = None
        # Sandboxes (full id) with a listing under way, and whether another was asked meanwhile.
        self._pending: dict[str, bool] = {}
        self._running: dict[str, Sandbox] = {}

    def bind(self) -> None:
        """Called on the loop before any line arrives (the first status)."""
        self._loop = asyncio.get_running_loop()

    def log_line(self, sandbox: Sandbox, text: str) -> None:
        """Any line of a followed sandbox's log, on its follower's thread."""
        if self._loop is not None and _SESSION_LINE.match(text):
            self._loop.call_soon_threadsafe(self.refresh, sandbox)

    def refresh(self, sandbox: Sandbox) -> None:
        """List the sandbox's sessions again and say them (on the loop)."""
        if sandbox.full_id in self._pending:
            self._pending[sandbox.full_id] = True
            return
        self._pending[sandbox.full_id] = False
        self._background.spawn(self._list(sandbox), f"listing the sessions of {sandbox.name}")

    async def _list(self, sandbox: Sandbox) -> None:
        try:
            while True:
                try:
                    _, found = await self._workers.engine(self._engine.sessions,
                                                          Selection(ids=(sandbox.full_id,)))
                except BerthError:
                    found = None  # stopped or removed meanwhile: its status says so
                if found is not None and sandbox.full_id in self._running:
                    self._notify(NOTIFICATION, sessions_params(sandbox, found))
                await asyncio.sleep(INTERVAL)
                if not self._pending.get(sandbox.full_id):
                    return
                self._pending[sandbox.full_id] = False
        finally:
            self._pending.pop(sandbox.full_id, None)

    def changed(self, sandbox: Sandbox, sessions: list[Session]) -> None:
        """A request changed them (a session stopped): said at once."""
        self._notify(NOTIFICATION, sessions_params(sandbox, sessions))

    def status_changed(self, status: Status) -> None:
        if self._loop is None:
            self.bind()
        if status.state == "unavailable":
            return  # the engine did not answer: that says nothing of the sessions
        sandbox = status.sandbox
        running = sandbox is not None and status.state == "running"
        for full_id, known in list(self._running.items()):
            if known.workspace == status.workspace and known.named == status.name and \
                    (not running or sandbox is None or sandbox.full_id != full_id):
                del self._running[full_id]
                # Its sessions ended with it.
                self._notify(NOTIFICATION, sessions_params(known, []))
        if running and sandbox is not None:
            # Not listed here: an exec racing a `docker pause` freezes, and with it the engine's
            # answers about the container; clients ask (sandbox/sessions) when they show them.
            self._running[sandbox.full_id] = sandbox
