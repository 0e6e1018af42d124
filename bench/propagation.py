"""Status propagation: an outside `docker kill` until Berth's `stopped` notification, against a raw
event subscriber (a thread of the bench) seeing the engine's `die` event."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import docker
import requests.exceptions
import urllib3.exceptions
from berth import labels
from docker.types import CancellableStream
from docker.utils import convert_filters
from harness import NOTIFICATION_TIMEOUT, Bench
from report import Row, median_at_most
from timing import command, ms

FILTERS = {"type": ["container"], **labels.marker_filter()}
READ_TIMEOUT = 5.0  # seconds a subscription may stay silent before it is opened again
READ_TIMEOUTS = (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout)


def subscribe(api: docker.APIClient, filters: dict[str, list[str]], since_ns: int | None = None,
              read_timeout: float = READ_TIMEOUT) -> CancellableStream:
    """The engine's events, decoded: docker-py's `events()` but with each read bounded.

    `events()` asks for no timeout at all (it passes timeout=None whatever the client's), so on a
    broken connection its read blocks forever. This is the same request and decoding with a read
    timeout: silence longer than `read_timeout` raises one of READ_TIMEOUTS while iterating."""
    since = None if since_ns is None else f"{since_ns // 10**9}.{since_ns % 10**9:09d}"
    response = api._get(api._url("/events"), stream=True, timeout=read_timeout,
                        params={"since": since, "filters": convert_filters(filters)})
    api._raise_for_status(response)
    return CancellableStream(api._stream_helper(response, decode=True), response)


class EventRecorder:
    """The raw floor for propagation: the engine's events on a thread, each timestamped on arrival."""

    def __init__(self) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._seen: set[tuple[Any, ...]] = set()
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._stream: Any = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="bench-events", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("raw event subscriber did not start")

    def _run(self) -> None:
        # Re-subscribes from the newest event seen (`since`, so nothing is missed) when the stream
        # has been silent for READ_TIMEOUT, and on a new connection when it broke (an engine restart).
        since = time.time_ns()
        api = None
        while not self._stopped:
            try:
                if api is None:
                    api = docker.APIClient(version="auto", timeout=60)
                self._stream = subscribe(api, FILTERS, since)
                self._ready.set()
                for event in self._stream:
                    t = time.perf_counter()
                    at = event.get("timeNano", 0)
                    key = (event.get("id"), event.get("Action") or event.get("status"), at)
                    if key in self._seen:
                        continue  # replayed after a re-subscription
                    self._seen.add(key)
                    since = max(since, at)
                    with self._cond:
                        self.events.append((t, event))
                        self._cond.notify_all()
            except READ_TIMEOUTS:
                continue  # a quiet engine, or a dead link: subscribe again at once
            except Exception:
                pass
            finally:
                with contextlib.suppress(Exception):
                    self._stream.close()
            if not self._stopped:
                time.sleep(0.2)
                api = None

    def wait(self, cid: str, action: str, after: float, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, event in self.events:
                    if t >= after and event.get("id") == cid and (
                            event.get("Action") or event.get("status")) == action:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no raw {action} event for {cid[:12]}")
                self._cond.wait(left)

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(Exception):
            self._stream.close()


async def propagation(b: Bench) -> None:
    b.say("status propagation: docker kill -> didChangeStatus vs a raw event subscriber")
    s = b.session
    recorder = EventRecorder()
    recorder.start()
    loop = asyncio.get_running_loop()
    to_note, to_raw, behind = [], [], []
    reps, missing = b.reps(9, 3), 0
    try:
        for _ in range(reps):
            await b.ensure_main()
            start = len(s.notifications)
            t_kill = time.perf_counter()
            await command("docker", "kill", b.main_id)
            try:
                t_raw = await loop.run_in_executor(None, recorder.wait, b.main_id, "die", t_kill, 10)
            except TimeoutError:  # the engine itself restarted under the bench: not a sample
                b.say("no raw die event (engine restarted?); repetition skipped")
                b.count("propagation_skipped")
                continue
            to_raw.append(ms(t_kill, t_raw))
            try:
                note = await s.wait_notification(b.is_status(b.ws, "stopped"),
                                                 start=start, timeout=NOTIFICATION_TIMEOUT)
                to_note.append(ms(t_kill, note.t))
                behind.append(ms(t_raw, note.t))
            except TimeoutError:
                missing += 1
            start = len(s.notifications)
            await loop.run_in_executor(None, b.docker.api.start, b.main_id)
            # After a missed `stopped` the server still says running: nothing to wait for.
            with contextlib.suppress(TimeoutError):
                await s.wait_notification(b.is_status(b.ws, "running"), start=start,
                                          timeout=NOTIFICATION_TIMEOUT)
            await s.quiesce(0.3)
    finally:
        recorder.stop()
    lost = (f"{missing} of {reps} kills never produced a `stopped` notification "
            f"(waited {NOTIFICATION_TIMEOUT:.0f} s each)") if missing else ""
    b.rows.append(Row("propagation: docker kill -> notification", to_note,
                      "kill -> raw 'die' event", to_raw, "(see next row)", missing=missing, note=lost))
    b.rows.append(Row("  notification behind raw event", behind, "", [], "median <= 50 ms",
                      not missing and median_at_most(behind, 50), missing=missing))
