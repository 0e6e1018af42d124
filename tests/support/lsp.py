"""Drive berth-server over real stdio pipes with pytest-lsp's client, the way an editor does."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage
from pygls.protocol import default_converter as pygls_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import register_lsp_features

# With --stdio, as vscode-languageclient starts it.
SERVER = [sys.executable, "-m", "berth.lsp.app", "--stdio"]
CAPABILITIES = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(configuration=True, workspace_folders=True),
    window=types.WindowClientCapabilities(work_done_progress=True),
)


def uri(path: str) -> str:
    return Path(path).as_uri()


def _raw_converter() -> Any:
    """Keep custom params/results as the JSON dicts the server sent (pygls makes namedtuples)."""
    converter = pygls_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, lambda obj, cls: cls(**obj))
    return converter


class Session:
    """One editor window: a server process, its folders, and every status it pushed."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.statuses: list[dict[str, Any]] = []
        self.blocks: list[dict[str, Any]] = []  # sandbox/didBlockRequest
        self.ports: list[dict[str, Any]] = []  # sandbox/didChangePorts
        self.agent_states: list[dict[str, Any]] = []  # sandbox/didChangeAgentState
        self.session_changes: list[dict[str, Any]] = []  # sandbox/didChangeSessions
        self._changed = asyncio.Condition()

    async def _on_status(self, params: Any) -> None:
        async with self._changed:
            self.statuses.append(params)
            self._changed.notify_all()

    async def _on_block(self, params: Any) -> None:
        async with self._changed:
            self.blocks.append(params)
            self._changed.notify_all()

    async def _on_ports(self, params: Any) -> None:
        async with self._changed:
            self.ports.append(params)
            self._changed.notify_all()

    async def wait_ports(self, predicate: Callable[[dict[str, Any]], bool], *, after: int = 0,
                         timeout: float = 30) -> dict[str, Any]:
        """The first didChangePorts notification at index >= `after` matching `predicate`."""
        return await self._wait(
            lambda: next((p for p in self.ports[after:] if predicate(p)), None), timeout,
            lambda: f"no matching ports notification in {timeout}s; saw {self.ports[after:]}")

    async def _on_agent_state(self, params: Any) -> None:
        async with self._changed:
            self.agent_states.append(params)
            self._changed.notify_all()

    async def wait_agent(self, predicate: Callable[[dict[str, Any]], bool], *, after: int = 0,
                         timeout: float = 30) -> dict[str, Any]:
        """The first didChangeAgentState notification at index >= `after` matching `predicate`."""
        return await self._wait(
            lambda: next((a for a in self.agent_states[after:] if predicate(a)), None), timeout,
            lambda: f"no matching agent state in {timeout}s; saw {self.agent_states[after:]}")

    async def _on_sessions(self, params: Any) -> None:
        async with self._changed:
            self.session_changes.append(params)
            self._changed.notify_all()

    async def wait_sessions(self, predicate: Callable[[list[dict[str, Any]]], bool], *,
                            after: int = 0, timeout: float = 30) -> dict[str, Any]:
        """The first didChangeSessions notification at index >= `after` whose sessions match."""
        return await self._wait(
            lambda: next((c for c in self.session_changes[after:] if predicate(c["sessions"])),
                         None), timeout,
            lambda: f"no matching sessions in {timeout}s; saw {self.session_changes[after:]}")

    async def wait_block(self, predicate: Callable[[dict[str, Any]], bool], *,
                         timeout: float = 30) -> dict[str, Any]:
        """The first didBlockRequest notification matching `predicate`."""
        return await self._wait(lambda: next((b for b in self.blocks if predicate(b)), None),
                                timeout, lambda: f"no matching block in {timeout}s; saw {self.blocks}")

    @property
    def process(self) -> asyncio.subprocess.Process:
        """The server's process (pytest-lsp keeps it on the client; this is the one place read)."""
        return self.client._server

    @property
    def pid(self) -> int:
        return self.process.pid

    def latest(self, workspace: str, name: str | None = None) -> dict[str, Any] | None:
        """The last status of the workspace's default sandbox (or of its one of that name)."""
        for status in reversed(self.statuses):
            if status["workspace"] == workspace and status.get("name") == name:
                return status
        return None

    async def _wait(self, match: Callable[[], dict[str, Any] | None], timeout: float,
                    missing: Callable[[], str]) -> dict[str, Any]:
        """What `match` finds, once a notification made it find something."""
        async def wait() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(lambda: match() is not None)
                return match()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(missing()) from None

    async def wait_status(self, workspace: str, predicate: Callable[[dict[str, Any]], bool] | str,
                          *, after: int = 0, timeout: float = 30,
                          name: str | None = None) -> dict[str, Any]:
        """The first status for `workspace`'s default sandbox (or its one of that `name`) at index
        >= `after` matching `predicate` (or state)."""
        if isinstance(predicate, str):
            state = predicate
            predicate = lambda s: s["state"] == state  # noqa: E731

        def match() -> dict[str, Any] | None:
            for status in self.statuses[after:]:
                if status["workspace"] == workspace and status.get("name") == name \
                        and predicate(status):
                    return status
            return None

        def missing() -> str:
            seen = [(s["state"], s.get("message")) for s in self.statuses if
                    s["workspace"] == workspace and s.get("name") == name]
            return f"no matching status for {workspace} in {timeout}s; saw {seen}"

        return await self._wait(match, timeout, missing)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.client.protocol.send_request_async(method, params or {})

    async def error(self, method: str, params: dict[str, Any] | None = None) -> JsonRpcException:
        try:
            result = await self.request(method, params)
        except JsonRpcException as exc:
            return exc
        raise AssertionError(f"{method} succeeded with {result!r}; an error was expected")


async def start_session(folders: list[str], *, options: dict[str, Any] | None = None,
                        configuration: dict[str, Any] | None = None,
                        env: dict[str, str] | None = None,
                        capabilities: types.ClientCapabilities = CAPABILITIES) -> Session:
    """Start a server, initialize it with `folders`, and collect its statuses from the start.

    configuration: scope URI (or "" for global) -> the `berth` section answered to
    workspace/configuration.
    """
    client = LanguageClient(converter_factory=_raw_converter)
    register_lsp_features(client)
    for scope, section in (configuration or {}).items():
        client.set_configuration(section, section="berth", scope_uri=scope)
    session = Session(client)

    @client.feature("sandbox/didChangeStatus")
    async def on_status(ls: LanguageClient, params: Any) -> None:
        await session._on_status(params)

    @client.feature("sandbox/didBlockRequest")
    async def on_block(ls: LanguageClient, params: Any) -> None:
        await session._on_block(params)

    @client.feature("sandbox/didChangePorts")
    async def on_ports(ls: LanguageClient, params: Any) -> None:
        await session._on_ports(params)

    @client.feature("sandbox/didChangeAgentState")
    async def on_agent_state(ls: LanguageClient, params: Any) -> None:
        await session._on_agent_state(params)

    @client.feature("sandbox/didChangeSessions")
    async def on_sessions(ls: LanguageClient, params: Any) -> None:
        await session._on_sessions(params)

    await client.start_io(*SERVER, env={**os.environ, **(env or {})})
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities,
        workspace_folders=[types.WorkspaceFolder(uri=uri(f), name=os.path.basename(f))
                           for f in folders],
        initialization_options={"berth": options or {}},
    ))
    return session


async def stop_session(session: Session) -> None:
    client = session.client
    if client._server is not None and client._server.returncode is None:
        try:
            await asyncio.wait_for(client.shutdown_session(), 15)
        except Exception:
            client._server.kill()
    await client.stop()
