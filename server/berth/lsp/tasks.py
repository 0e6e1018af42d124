"""Background work on the server's event loop: kept until done, and never failing in silence."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """Tasks started without anyone awaiting them (status refreshes, a later auto-start).

    asyncio keeps only weak references to tasks, so these are held until they finish; and an
    exception in one would otherwise be dropped (at most "Task exception was never retrieved" at
    exit), so each failure is logged with what the task was doing.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, what))
        return task

    def _done(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("Background task failed (%s): %s", what, exc, exc_info=exc)
