"""A small async JSON-RPC (LSP base protocol) client over a child process's stdio pipes.

The bench uses this one client for the Berth server and for the bare floor server, so whatever it costs
is paid on both sides of every ratio. Every message read is timestamped (time.perf_counter) the moment
its body has been read off the pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

# What VS Code's language client declares that changes the server's behaviour: it asks for settings
# (workspace/configuration) and opens $/progress (window/workDoneProgress/create) for long operations.
EDITOR_CAPABILITIES = {
    "workspace": {"configuration": True, "workspaceFolders": True},
    "window": {"workDoneProgress": True},
}


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error


class Notification:
    __slots__ = ("t", "method", "params")

    def __init__(self, t: float, method: str, params: Any) -> None:
        self.t, self.method, self.params = t, method, params


class Client:
    """One server process. `notifications` keeps every notification with its arrival time."""

    def __init__(self, proc: asyncio.subprocess.Process, t_spawn: float,
                 config_answer: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.t_spawn = t_spawn
        self.notifications: list[Notification] = []
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[tuple[float, Any]]] = {}
        self._changed = asyncio.Event()
        self._config_answer = config_answer or (lambda item: {})
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())

    @classmethod
    async def spawn(cls, argv: list[str], *, env: dict[str, str] | None = None,
                    stderr: Any = asyncio.subprocess.DEVNULL, **kw: Any) -> Client:
        t_spawn = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr,
            env=env, limit=64 * 1024 * 1024)
        return cls(proc, t_spawn, **kw)

    # -- writing ------------------------------------------------------------------------------

    def _write(self, message: dict[str, Any]) -> float:
        body = json.dumps(message, separators=(",", ":")).encode()
        assert self.proc.stdin is not None
        t = time.perf_counter()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return t

    async def request_timed(self, method: str, params: Any = None,
                            timeout: float = 120) -> tuple[float, float, Any]:
        """(sent, answered, result): perf_counter times of the write and of the answer's arrival."""
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future[tuple[float, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            message["params"] = params
        t_sent = self._write(message)
        t_answer, result = await asyncio.wait_for(future, timeout)
        return t_sent, t_answer, result

    async def request(self, method: str, params: Any = None, timeout: float = 120) -> Any:
        return (await self.request_timed(method, params, timeout))[2]

    def notify(self, method: str, params: Any = None) -> float:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        return self._write(message)

    # -- reading ------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while True:
                length = None
                while True:
                    line = await stdout.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    continue
                body = await stdout.readexactly(length)
                t = time.perf_counter()
                self._dispatch(t, json.loads(body))
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("server closed its stdout"))

    def _dispatch(self, t: float, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:
            self._answer_server_request(message)
        elif "method" in message:
            self.notifications.append(Notification(t, message["method"], message.get("params")))
            self._changed.set()
        else:
            future = self._pending.pop(message.get("id"), None)
            if future is None or future.done():
                return
            if "error" in message:
                future.set_exception(RpcError(message["error"]))
            else:
                future.set_result((t, message.get("result")))

    def _answer_server_request(self, message: dict[str, Any]) -> None:
        method = message["method"]
        if method == "workspace/configuration":
            items = (message.get("params") or {}).get("items") or []
            result: Any = [self._config_answer(item) for item in items]
        else:  # window/workDoneProgress/create, client/registerCapability, ...
            result = None
        self._write({"jsonrpc": "2.0", "id": message["id"], "result": result})

    async def wait_notification(self, predicate: Callable[[Notification], bool], *,
                                start: int = 0, timeout: float = 30) -> Notification:
        """The first notification at index >= start that matches."""
        deadline = time.monotonic() + timeout
        index = start
        while True:
            while index < len(self.notifications):
                note = self.notifications[index]
                index += 1
                if predicate(note):
                    return note
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching notification")
            self._changed.clear()
            if index < len(self.notifications):
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def quiesce(self, quiet: float = 1.0, timeout: float = 120) -> None:
        """Wait until no notification has arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = len(self.notifications)
            await asyncio.sleep(quiet)
            if len(self.notifications) == seen:
                return

    # -- ending -------------------------------------------------------------------------------

    async def close(self, timeout: float = 5) -> None:
        try:
            if self.proc.returncode is None:
                await self.request("shutdown", timeout=timeout)
                self.notify("exit")
                await asyncio.wait_for(self.proc.wait(), timeout)
        except Exception:
            pass
        finally:
            if self.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, 9)
                await self.proc.wait()
            self._reader.cancel()

