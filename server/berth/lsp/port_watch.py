"""`sandbox/didChangePorts`: the TCP ports a running sandbox listens on, and those forwarded, whenever
they change (protocol.md, "Ports").

Each running sandbox of an open folder (or of an agent branch) gets a portal (engine.ports) and a
thread following its log (log_follower), which says the listening ports again whenever they change.
A sandbox that stops ends its forwards: Berth's own stop removes them, and for one stopped outside
Berth (`docker stop`) this does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth.engine import ports
from berth.lsp.log_follower import LogFollower, SandboxFollowers

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.models import Sandbox, Status

NOTIFICATION = "sandbox/didChangePorts"
# States in which a sandbox that ran has no ports any more (not `unavailable`: that says nothing).
_ENDED = ("stopping", "stopped", "removing", "absent", "error")


def ports_params(sandbox: Sandbox, listening: list[dict[str, Any]],
                 forwarded: list[ports.Forward]) -> dict[str, Any]:
    """The notification's params, which are also `sandbox/ports`'s result."""
    return {"workspace": sandbox.workspace, "name": sandbox.named, "sandbox": sandbox.id,
            "listening": listening, "forwarded": [f.to_json() for f in forwarded],
            "published": list(sandbox.config.ports)}


class PortWatcher(SandboxFollowers):
    """Follows the portals of running sandboxes, as their statuses say."""

    def __init__(self, notify: Callable[[str, Any], None], engine: Engine,
                 folders: Folders) -> None:
        super().__init__(engine, folders)
        self._notify = notify
        # The listening ports last read per sandbox (full id), sent again when forwards change.
        self._listening: dict[str, list[dict[str, Any]]] = {}

    def follower(self, sandbox: Sandbox) -> LogFollower:
        loop = asyncio.get_running_loop()
        api = self._engine.api

        def open_stream(_since: float) -> Any:
            return ports.follow(api, sandbox, ports.image(api, lambda *_: None))

        def on_line(text: str) -> None:
            listening = ports.parse_line(text)
            if listening is None or listening == self._listening.get(sandbox.full_id):
                return
            self._listening[sandbox.full_id] = listening
            forwarded = ports.forwards(api, sandbox)
            loop.call_soon_threadsafe(self._notify, NOTIFICATION,
                                      ports_params(sandbox, listening, forwarded))

        return LogFollower(f"the ports of {sandbox.name}", open_stream, on_line)

    def forwards_changed(self, sandbox: Sandbox, forwarded: list[ports.Forward]) -> None:
        """A forward was made or ended: said at once, with the listening ports last read."""
        self._notify(NOTIFICATION, ports_params(sandbox, self._listening.get(sandbox.full_id, []),
                                                forwarded))

    def ended(self, sandbox: Sandbox, status: Status) -> None:
        """It stopped: its forwards end with it (a thread: the loop never waits on the engine),
        and clients hear it has no ports now."""
        self._listening.pop(sandbox.full_id, None)
        if status.state not in _ENDED:
            return
        threading.Thread(target=ports.remove_all, args=(self._engine.api, sandbox),
                         name=f"berth-ports-end-{sandbox.id}", daemon=True).start()
        self._notify(NOTIFICATION, ports_params(sandbox, [], []))
