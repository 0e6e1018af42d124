"""Follows the engine's event stream on a thread of its own and says which sandboxes changed.

docker-py's `events()` reads with no timeout: it blocks forever on a half-open connection (no bytes,
no FIN: a sleeping VM, a NAT that dropped the flow) and ends silently when the connection breaks.
So the stream is opened here with a read timeout: when it has been silent that long, or broke, the
engine is pinged on another connection and the stream re-opened with `since` (the engine replays
what was missed). Only when the ping fails is the engine reported unavailable; the watcher then
waits for it to come back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from berth import labels
from berth.engine.connection import connect, engine_timeout, events
from berth.engine.endpoint import Endpoint, resolve
from berth.errors import EngineSetup

log = logging.getLogger(__name__)

# Events that can change what a status shows; exec_* (every agent attach, Berth's own setup) cannot.
STATE_EVENTS = ["create", "start", "restart", "die", "kill", "stop", "pause", "unpause", "oom",
                "destroy", "rename", "update"]
FILTERS = {"type": ["container"], "event": STATE_EVENTS, "label": [f"{labels.MARKER}=true"]}
# Podman's compatible API names its events as Docker does in what it sends (`die`), but filters by
# its own names (`died`), and says `remove` for `destroy`: there the stream is filtered by label
# only, and by action here.
PODMAN_FILTERS = {k: v for k, v in FILTERS.items() if k != "event"}
_ACTIONS = frozenset([*STATE_EVENTS, "remove"])

# The longest a stream may stay silent before the engine is checked and the stream re-opened: a
# quiet engine sends nothing, so silence alone cannot tell a quiet engine from a dead link.
MAX_SILENCE = 10.0

# (workspace, the sandbox's name when it is not the workspace's default one, the event)
OnChange = Callable[[str, str | None, dict[str, Any]], None]
OnAvailability = Callable[[bool], None]


class EventWatcher:
    def __init__(self, on_change: OnChange, on_availability: OnAvailability,
                 retry_interval: float = 0.5, silence: float | None = None) -> None:
        self._on_change = on_change
        self._on_availability = on_availability
        self._retry = retry_interval
        self._silence = silence or min(engine_timeout(), MAX_SILENCE)
        self._stop = threading.Event()
        self._stream: Any = None
        self._available: bool | None = None
        self._cursor = _Cursor()
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
        import requests.exceptions
        import urllib3.exceptions

        client = None
        endpoint = None
        while not self._stop.is_set():
            try:
                if client is None:
                    endpoint = resolve()
                    # asks the engine its API version
                    client = connect(timeout=self._silence, endpoint=endpoint)
                # Resubscribe before announcing availability, so no change slips between the two.
                stream = events(client, since=self._cursor.since(), filters=_filters(client),
                                timeout=_stream_silence(endpoint, self._silence))
                self._stream = stream
                self._set_available(True)
                for event in stream:
                    if self._stop.is_set():
                        return
                    if not self._cursor.is_new(event):
                        continue  # replayed after a reconnect: already handled
                    if (event.get("Action") or event.get("status")) not in _ACTIONS:
                        continue  # exec_*, cleanup, ...: nothing a status shows
                    attrs = (event.get("Actor") or {}).get("Attributes") or {}
                    workspace = attrs.get(labels.WORKSPACE)
                    if workspace:
                        self._on_change(workspace, attrs.get(labels.NAME) or None, event)
                if self._stop.is_set():
                    return
                log.info("Docker event stream ended; reconnecting")
            except (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout):
                if self._stop.is_set():
                    return
                # The engine may just be quiet, or the link half-open: the ping below tells which.
                log.debug("No Docker event for %gs; checking the engine and re-subscribing",
                          self._silence)
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.info("Docker event stream broke (%s); reconnecting", type(exc).__name__)
                client = _closed(client)
            finally:
                stream, self._stream = self._stream, None
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()
            if self._stop.is_set():
                return
            # A context switched meanwhile (Docker Desktop, colima) means another engine to follow.
            if client is not None and (_endpoint() != endpoint or not _pings(client)):
                client = _closed(client)
            if client is None:
                endpoint = _endpoint()
                client = _answering_client(self._silence, endpoint)
            if client is None:
                self._set_available(False)
                self._stop.wait(self._retry)

class _Cursor:
    """Where the stream is: the newest event time seen, in nanoseconds (the engine's own unit, so
    `since` names it exactly), and the events seen at that time. The engine replays the events at
    `since` itself too: those are skipped. Older events are never skipped: the engine's clock may
    be behind this one (a VM's, after the host slept)."""

    def __init__(self) -> None:
        self._at = time.time_ns()
        self._seen_at: set[tuple[Any, ...]] = set()

    def since(self) -> str:
        return f"{self._at // 1_000_000_000}.{self._at % 1_000_000_000:09d}"

    def is_new(self, event: dict[str, Any]) -> bool:
        at = event.get("timeNano") or int(event.get("time", 0)) * 1_000_000_000
        key = (event.get("id"), event.get("Action") or event.get("status"), at)
        if at == self._at and key in self._seen_at:
            return False
        if at > self._at:
            self._at, self._seen_at = at, set()
        if at == self._at:
            self._seen_at.add(key)
        return True


# Over ssh a dead link is found by ssh itself (ServerAliveInterval: ~45 s), and each re-opened stream
# is a new ssh channel and a `docker system dial-stdio` on the engine's machine: a quiet engine is
# checked less often there.
SSH_SILENCE = 120.0


def _stream_silence(endpoint: Endpoint | None, silence: float) -> float:
    return max(silence, SSH_SILENCE) if endpoint is not None and endpoint.scheme == "ssh" \
        else silence


def _filters(client: Any) -> dict[str, Any]:
    from berth.engine import identity

    return PODMAN_FILTERS if identity.of(client).podman else FILTERS


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def _answering_client(timeout: float, endpoint: Endpoint | None) -> Any:
    """A fresh client of `endpoint` when it answers its ping; None when it does not (or when the
    configuration names no usable engine)."""
    if endpoint is None:
        return None
    try:
        client = connect(timeout=timeout, endpoint=endpoint)
    except Exception:
        return None
    return client if _pings(client) else _closed(client)


def _closed(client: Any) -> None:
    """Close a client being dropped: over ssh, its connections are ssh processes."""
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()


def _endpoint() -> Endpoint | None:
    try:
        return resolve()
    except EngineSetup:
        return None
