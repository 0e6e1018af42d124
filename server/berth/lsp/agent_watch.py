"""`sandbox/didChangeAgentState`: what the agent in each running sandbox is doing, from the lines its
hooks write to the sandbox's own log (berth.agent_hooks, berth.agent_state).

Each running sandbox of an open folder (or of an agent branch) gets a thread following its log
(log_follower). When it starts following, the last lines are read back once, so a server that just
started (a reloaded window) shows the agent's state at once, without announcing it again. Bounded:
at most BURST notifications per sandbox per WINDOW seconds, so an agent writing its log in a loop
cannot flood the editor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from berth.agent_state import AgentState, next_state, parse_line, replayed, stamp_ns
from berth.engine.connection import call
from berth.lsp.log_follower import LogFollower, SandboxFollowers

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.models import Sandbox, Status

NOTIFICATION = "sandbox/didChangeAgentState"
BURST = 20
WINDOW = 10.0
# How many of the log's last lines are read back when following starts.
REPLAY = 200


def state_params(sandbox: Sandbox, state: AgentState) -> dict[str, Any]:
    return {"workspace": sandbox.workspace, "name": sandbox.named, "sandbox": sandbox.id,
            **state.to_json()}


class _Budget:
    """At most BURST within WINDOW seconds (pure: the clock is passed in)."""

    def __init__(self) -> None:
        self._recent: list[float] = []

    def take(self, now: float) -> bool:
        self._recent = [t for t in self._recent if now - t < WINDOW]
        if len(self._recent) >= BURST:
            return False
        self._recent.append(now)
        return True


class AgentWatcher(SandboxFollowers):
    """Follows the logs of running sandboxes, as their statuses say."""

    def __init__(self, notify: Callable[[str, Any], None], engine: Engine,
                 folders: Folders,
                 on_line: Callable[[Sandbox, str], None] | None = None) -> None:
        super().__init__(engine, folders)
        self._notify = notify
        # Also given every new line (not those read back): the session watcher's.
        self._on_line = on_line
        # The last state of each followed sandbox, by its full id.
        self._states: dict[str, AgentState] = {}

    def ended(self, sandbox: Sandbox, status: Status) -> None:
        self._states.pop(sandbox.full_id, None)

    def follower(self, sandbox: Sandbox) -> LogFollower:
        loop = asyncio.get_running_loop()
        api = self._engine.api
        budget = _Budget()
        replay_pending = [True]
        last_seen = [0]

        def apply(text: str, replay: bool) -> None:
            event = parse_line(text)
            if event is None:
                return
            # Following again after a break starts at the last line's second: lines read before
            # are skipped, or an older event would take the state back.
            at = stamp_ns(event.at) or 0
            if at and at <= last_seen[0]:
                return
            last_seen[0] = max(last_seen[0], at)
            new = next_state(self._states.get(sandbox.full_id), event)
            if new is None:
                return
            self._states[sandbox.full_id] = new
            if replay:
                return
            if budget.take(time.monotonic()):
                loop.call_soon_threadsafe(self._notify, NOTIFICATION, state_params(sandbox, new))

        def open_stream(since: float) -> Any:
            if replay_pending[0]:
                replay_pending[0] = False
                # The agent's state before this server looked: read back, then shown once.
                past = call(f"Reading the log of {sandbox.name}", api.logs, sandbox.full_id,
                            stdout=True, stderr=True, timestamps=True, tail=REPLAY)
                lines = past.decode("utf-8", "replace").splitlines()
                for text in lines:
                    apply(text.strip(), replay=True)
                last = self._states.get(sandbox.full_id)
                if last is not None:
                    loop.call_soon_threadsafe(self._notify, NOTIFICATION,
                                              state_params(sandbox, replayed(last)))
                if last_seen[0]:
                    since = last_seen[0] / 1e9
            return call(f"Following the log of {sandbox.name}", api.logs, sandbox.full_id,
                        stdout=True, stderr=True, timestamps=True, stream=True, follow=True,
                        since=since)

        def on_line(text: str) -> None:
            if self._on_line is not None:
                self._on_line(sandbox, text)
            apply(text, replay=False)

        return LogFollower(f"the agent of {sandbox.name}", open_stream, on_line)
