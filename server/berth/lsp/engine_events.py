"""The engine's event stream, followed on its own thread, turned into status refreshes on the loop."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from berth.engine.connection import unavailable
from berth.watcher import EventWatcher

if TYPE_CHECKING:
    from berth.lsp.status import StatusPublisher


class EngineEvents:
    def __init__(self, status: StatusPublisher) -> None:
        self._status = status
        self._watcher: EventWatcher | None = None

    def start(self) -> None:
        if self._watcher is not None:
            return
        loop = asyncio.get_running_loop()
        status = self._status

        def on_change(workspace: str, name: str | None, event: dict[str, Any]) -> None:
            action, container = event.get("Action"), str(event.get("id") or "")

            def apply() -> None:
                if action == "die" and container:
                    # Shown stopped at once; the refresh that follows confirms it from the engine.
                    status.died(workspace, name, container)
                elif action == "oom" and container:
                    status.out_of_memory(workspace, name, container)
                elif action == "start":
                    status.started(workspace, name)
                status.soon(workspace, name)
            loop.call_soon_threadsafe(apply)

        def on_availability(available: bool) -> None:
            def apply() -> None:
                if available:
                    status.soon()
                else:
                    status.set_unavailable(unavailable().message)
            loop.call_soon_threadsafe(apply)

        self._watcher = EventWatcher(on_change, on_availability)
        self._watcher.start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
