"""`sandbox/didBlockRequest`: each request a running filtered sandbox's proxy refuses, as it happens.

Each such sandbox of an open folder gets a thread following its proxy's log
(the engine's log stream blocks, so never on pygls's pool or the loop); what it finds goes to the
loop with call_soon_threadsafe. Rate-limited, so an agent retrying in a loop cannot flood the editor:
one notification per host and port per REPEAT_AFTER seconds, and at most BURST per sandbox per
minute; the log (`sandbox/networkLog`) keeps every one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth.engine import egress
from berth.errors import BerthError
from berth.worktrees import is_agent_branch

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.models import Sandbox, Slot, Status

log = logging.getLogger(__name__)

NOTIFICATION = "sandbox/didBlockRequest"
REPEAT_AFTER = 30.0
BURST = 10
# Between two attempts to follow a log that ended (the proxy restarting, a dropped connection).
RETRY = 1.0


class RateLimit:
    """Which blocks are worth a notification (pure: the clock is passed in). The same host, port
    and rule again within REPEAT_AFTER is not; a block by another rule (the user changed them) is."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int, str], float] = {}
        self._recent: list[float] = []

    def allow(self, block: egress.Block, now: float) -> bool:
        key = (block.host, block.port, block.rule)
        if key in self._last and now - self._last[key] < REPEAT_AFTER:
            return False
        self._recent = [t for t in self._recent if now - t < 60]
        if len(self._recent) >= BURST:
            return False
        self._last[key] = now
        self._recent.append(now)
        return True


class _Follower:
    def __init__(self, engine: Engine, sandbox: Sandbox,
                 found: Callable[[egress.Block], None]) -> None:
        self.sandbox = sandbox
        self._engine = engine
        self._found = found
        self._stopped = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, name=f"berth-blocks-{sandbox.id}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:  # closing a stream that broke already
                log.debug("closing the proxy log of %s", self.sandbox.name, exc_info=True)

    def _run(self) -> None:
        since = time.time()
        limit = RateLimit()
        while not self._stopped.is_set():
            try:
                self._stream = egress.follow(self._engine.api, self.sandbox, since)
                if self._stopped.is_set():
                    # stop() came while the stream was being opened: it could not close this one.
                    self._stream.close()
                    return
                for line in self._stream:
                    if self._stopped.is_set():
                        return
                    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
                    # Followed again after a break from the engine's own time of the last line
                    # read (its clock, not this machine's); a line read twice is rate-limited.
                    since = egress.iso_seconds(text.split(" ", 1)[0], since)
                    block = egress.parse_block(text.strip())
                    if block is not None and limit.allow(block, time.monotonic()):
                        self._found(block)
            except BerthError as exc:
                log.debug("following the proxy log of %s: %s", self.sandbox.name, exc.message)
            except Exception:  # a broken stream: follow it again
                log.debug("following the proxy log of %s", self.sandbox.name, exc_info=True)
            self._stopped.wait(RETRY)


class BlockNotifier:
    """Follows the proxies of running filtered sandboxes, as their statuses say."""

    def __init__(self, notify: Callable[[str, Any], None], engine: Engine,
                 folders: Folders) -> None:
        self._notify = notify
        self._engine = engine
        self._folders = folders
        self._following: dict[Slot, _Follower] = {}

    def status_changed(self, status: Status) -> None:
        """Follow the sandboxes of open folders and of agent branches while they run filtered (not
        others: statuses of every sandbox on the engine are sent, and a thread each would not
        scale)."""
        sandbox = status.sandbox
        wanted = (sandbox if sandbox is not None and status.state == "running"
                  and sandbox.config.network_policy != "open"
                  and (self._folders.get(status.workspace) is not None
                       or is_agent_branch(status.workspace)) else None)
        current = self._following.get(status.slot)
        if current is not None and (wanted is None or current.sandbox.id != wanted.id):
            current.stop()
            del self._following[status.slot]
            current = None
        if wanted is not None and current is None:
            loop = asyncio.get_running_loop()

            def found(block: egress.Block, sandbox: Sandbox = wanted) -> None:
                params = {"workspace": sandbox.workspace, "name": sandbox.named,
                          "sandbox": sandbox.id,
                          "agent": sandbox.agent, **block.to_json()}
                loop.call_soon_threadsafe(self._notify, NOTIFICATION, params)

            follower = _Follower(self._engine, wanted, found)
            self._following[status.slot] = follower
            follower.start()

    def stop(self) -> None:
        for follower in self._following.values():
            follower.stop()
        self._following.clear()
