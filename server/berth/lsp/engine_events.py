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
            # `die`: show it stopped at once; the refresh that follows confirms it from the engine.
            container = event.get("id") if event.get("Action") == "die" else None

            def apply() -> None:
                if container:
                    status.died(workspace, name, container)
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
