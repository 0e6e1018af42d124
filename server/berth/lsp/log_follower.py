"""Following a container's log on a thread of its own: the engine's log stream blocks, so never on
pygls's pool or the loop. Followed again after a break (the container restarting, a dropped
connection) from the engine's own time of the last line read, its clock, not this machine's.

SandboxFollowers keeps one such follower per running sandbox of an open folder (or of an agent
branch), as the statuses sent say: what the network blocks, port and agent-state notifications share.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth.engine.egress import iso_seconds
from berth.errors import BerthError
from berth.worktrees import is_agent_branch

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.models import Sandbox, Slot, Status

log = logging.getLogger(__name__)

# Between two attempts to follow a log that ended.
RETRY = 1.0


class LogFollower:
    """Calls `on_line` with each line of the stream `open_stream(since)` opens (lines the engine
    stamped with their time, `timestamps=True`, stripped), until stopped."""

    def __init__(self, what: str, open_stream: Callable[[float], Any],
                 on_line: Callable[[str], None]) -> None:
        self._what = what
        self._open = open_stream
        self._on_line = on_line
        self._stopped = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, name=f"berth-follow-{what}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:  # closing a stream that broke already
                log.debug("closing %s", self._what, exc_info=True)

    def _run(self) -> None:
        since = time.time()
        while not self._stopped.is_set():
            try:
                self._stream = self._open(since)
                if self._stopped.is_set():
                    # stop() came while the stream was being opened: it could not close this one.
                    self._stream.close()
                    return
                for line in self._stream:
                    if self._stopped.is_set():
                        return
                    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
                    since = iso_seconds(text.split(" ", 1)[0], since)
                    self._on_line(text.strip())
            except BerthError as exc:
                log.debug("following %s: %s", self._what, exc.message)
            except Exception:  # a broken stream: follow it again
                log.debug("following %s", self._what, exc_info=True)
            self._stopped.wait(RETRY)


class SandboxFollowers:
    """A LogFollower (made by `follower`) for each running sandbox of an open folder or of an agent
    branch that `wants` says to follow; stopped, and `ended` called, once it stops running or another
    sandbox takes its slot. Not others: statuses of every sandbox on the engine are sent, and a
    thread each would not scale."""

    def __init__(self, engine: Engine, folders: Folders) -> None:
        self._engine = engine
        self._folders = folders
        self._following: dict[Slot, tuple[Sandbox, LogFollower]] = {}

    def wants(self, sandbox: Sandbox) -> bool:
        return True

    def follower(self, sandbox: Sandbox) -> LogFollower:
        raise NotImplementedError

    def ended(self, sandbox: Sandbox, status: Status) -> None:
        """Following `sandbox` stopped; `status` is what its slot shows now."""

    def status_changed(self, status: Status) -> None:
        sandbox = status.sandbox
        wanted = (sandbox if sandbox is not None and status.state == "running"
                  and (self._folders.get(status.workspace) is not None
                       or is_agent_branch(status.workspace))
                  and self.wants(sandbox) else None)
        current = self._following.get(status.slot)
        if current is not None and (wanted is None or current[0].id != wanted.id):
            current[1].stop()
            del self._following[status.slot]
            self.ended(current[0], status)
        if wanted is not None and status.slot not in self._following:
            follower = self.follower(wanted)
            self._following[status.slot] = (wanted, follower)
            follower.start()

    def stop(self) -> None:
        for _, follower in self._following.values():
            follower.stop()
        self._following.clear()
