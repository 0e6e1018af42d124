"""`sandbox/didBlockRequest`: each request a running filtered sandbox's proxy refuses, as it happens.

Each such sandbox of an open folder gets a thread following its proxy's log (log_follower); what it
finds goes to the loop with call_soon_threadsafe. Rate-limited, so an agent retrying in a loop cannot
flood the editor: one notification per host and port per REPEAT_AFTER seconds, and at most BURST per
sandbox per minute; the log (`sandbox/networkLog`) keeps every one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth.engine import egress
from berth.lsp.log_follower import LogFollower, SandboxFollowers

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.models import Sandbox

NOTIFICATION = "sandbox/didBlockRequest"
REPEAT_AFTER = 30.0
BURST = 10


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


class BlockNotifier(SandboxFollowers):
    """Follows the proxies of running filtered sandboxes, as their statuses say."""

    def __init__(self, notify: Callable[[str, Any], None], engine: Engine,
                 folders: Folders) -> None:
        super().__init__(engine, folders)
        self._notify = notify

    def wants(self, sandbox: Sandbox) -> bool:
        return sandbox.config.network_policy != "open"

    def follower(self, sandbox: Sandbox) -> LogFollower:
        loop = asyncio.get_running_loop()
        limit = RateLimit()

        def on_line(text: str) -> None:
            # A line read twice after a break is rate-limited like any repeat.
            block = egress.parse_block(text)
            if block is None or not limit.allow(block, time.monotonic()):
                return
            params = {"workspace": sandbox.workspace, "name": sandbox.named,
                      "sandbox": sandbox.id, "agent": sandbox.agent, **block.to_json()}
            loop.call_soon_threadsafe(self._notify, NOTIFICATION, params)

        return LogFollower(f"the network log of {sandbox.name}",
                           lambda since: egress.follow(self._engine.api, sandbox, since), on_line)
