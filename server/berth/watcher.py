"""Follows the engine's event stream on a thread of its own and says which sandboxes changed.

docker-py's `events()` blocks forever and ends silently when the connection breaks, so the stream is
re-opened with `since` (events missed while reconnecting are replayed); when the engine itself stops
answering, the watcher reports it unavailable and waits for it to come back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from berth import labels
from berth.docker_client import connect

log = logging.getLogger(__name__)

# Events that can change what a status shows; exec_* (every agent attach, Berth's own setup) cannot.
STATE_EVENTS = ["create", "start", "restart", "die", "kill", "stop", "pause", "unpause", "oom",
                "destroy", "rename", "update"]

OnChange = Callable[[str, dict[str, Any]], None]
OnAvailability = Callable[[bool], None]


class EventWatcher:
    def __init__(self, on_change: OnChange, on_availability: OnAvailability,
                 retry_interval: float = 0.5) -> None:
        self._on_change = on_change
        self._on_availability = on_availability
        self._retry = retry_interval
        self._stop = threading.Event()
        self._stream: Any = None
        self._available: bool | None = None
        self._thread = threading.Thread(target=self._run, name="berth-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            # Closing a broken stream may raise; it is being dropped anyway.
            with contextlib.suppress(Exception):
                stream.close()

    def _set_available(self, available: bool) -> None:
        if self._available != available:
            self._available = available
            self._on_availability(available)

    def _run(self) -> None:
        since: float | None = None
        client = None
        while not self._stop.is_set():
            try:
                if client is None:
                    client = connect(timeout=10)
                client.ping()
                # Resubscribe before announcing availability, so no change slips between the two.
                if since is None:
                    since = time.time()
                stream = client.events(decode=True, since=f"{since:.9f}",
                                       filters={"type": ["container"], "event": STATE_EVENTS,
                                                "label": [f"{labels.MARKER}=true"]})
                self._stream = stream
                self._set_available(True)
                for event in stream:
                    if self._stop.is_set():
                        return
                    since = max(since, event.get("timeNano", 0) / 1e9 or event.get("time", 0))
                    attrs = (event.get("Actor") or {}).get("Attributes") or {}
                    workspace = attrs.get(labels.WORKSPACE)
                    if workspace:
                        self._on_change(workspace, event)
                if self._stop.is_set():
                    return
                log.info("Docker event stream ended; reconnecting")
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.info("Docker event stream broke (%s); reconnecting", type(exc).__name__)
                client = None
            finally:
                self._stream = None
            if self._stop.is_set():
                return
            if client is None or not _pings(client):
                client = None
                self._set_available(False)
                self._stop.wait(self._retry)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False
