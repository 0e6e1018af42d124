"""The `sandbox/*` requests, each also advertised as a `workspace/executeCommand` command."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from berth.agents import agents
from berth.config import ConfigRequest, parse_agent_args, parse_request
from berth.engine import Progress
from berth.errors import BadInput
from berth.lsp.params import plain
from berth.models import RunResult
from berth.trust import require_consent

if TYPE_CHECKING:
    from berth.lsp.app import BerthServer

log = logging.getLogger(__name__)

Handler = Callable[["BerthServer", dict[str, Any]], Awaitable[Any]]

# Method -> executeCommand id. The VS Code extension's palette ids are `berth.*`; these can't clash.
COMMANDS = {
    "sandbox/run": "berthServer.run",
    "sandbox/stop": "berthServer.stop",
    "sandbox/recreate": "berthServer.recreate",
    "sandbox/remove": "berthServer.remove",
    "sandbox/list": "berthServer.list",
    "sandbox/inspect": "berthServer.inspect",
    "sandbox/exec": "berthServer.exec",
    "sandbox/logs": "berthServer.logs",
    "sandbox/status": "berthServer.status",
    "sandbox/agents": "berthServer.agents",
}

RUN_EXTRA = ("workspace", "agentArgs", "recreate", "accept")


def _only(params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in params:
        if key not in allowed:
            raise BadInput(f"Unknown parameter {str(key)[:80]!r}; expected "
                           f"{', '.join(allowed) or 'no parameters'}.", field=str(key)[:80])


async def run(server: BerthServer, params: dict[str, Any], *, recreate: bool = False) -> Any:
    workspace = server.folders.resolve(params.get("workspace"))
    explicit = parse_request(params, ignore=RUN_EXTRA)
    request = explicit.over(server.folders.settings_for(workspace))
    agent_args = parse_agent_args(params.get("agentArgs"))
    recreate = recreate or params.get("recreate") is True
    if "recreate" in params and params["recreate"] is not None \
            and not isinstance(params["recreate"], bool):
        raise BadInput(f"'recreate' must be true or false, got {params['recreate']!r}.",
                       field="recreate")
    accepted = _string_list(params["accept"], "accept") if params.get("accept") is not None else []
    result = await start_sandbox(server, workspace, request, agent_args, recreate=recreate,
                                 explicit=explicit, accepted=accepted)
    return result.to_json()


async def start_sandbox(server: BerthServer, workspace: str, request: ConfigRequest,
                        agent_args: tuple[str, ...] = (), *, recreate: bool = False,
                        explicit: ConfigRequest | None = None,
                        accepted: list[str] | None = None) -> RunResult:
    """engine.run with `$/progress`, transient statuses and warnings: for requests and auto-start.

    Values that only the folder's own files ask for are checked by the engine's guard, under the
    workspace's lock, right before anything would be created (trust.py)."""
    items = await server.in_worker(server.folders.consent_items, workspace,
                                   explicit or ConfigRequest())
    guard = require_consent(items, accepted or [], items[0].source if items else "")
    try:
        title = f"Berth: {'recreating' if recreate else 'starting'} sandbox"
        async with ProgressReporter(server, title, workspace) as progress:
            result = await server.in_worker(server.engine.run, workspace, request, agent_args,
                                            recreate=recreate, progress=progress, guard=guard)
    finally:
        # Also after a failure: the transient `creating` must give way to the engine's truth.
        server.status.soon(workspace)
    for warning in result.warnings:
        server.warn(warning)
    return result


async def recreate(server: BerthServer, params: dict[str, Any]) -> Any:
    return await run(server, params, recreate=True)


async def stop(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ("workspace",))
    workspace = server.folders.resolve(params.get("workspace"))
    server.status.transient(workspace, "stopping")
    try:
        sandbox = await server.in_worker(server.engine.stop, workspace)
    finally:
        server.status.soon(workspace)
    return sandbox.to_json()


async def remove(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ("workspace", "ids", "all"))
    given = [k for k in ("workspace", "ids", "all") if params.get(k) not in (None, False)]
    if len(given) > 1:
        raise BadInput(f"Pass only one of workspace, ids and all (got {', '.join(given)}).")
    if params.get("all") not in (None, True, False):
        raise BadInput(f"'all' must be true or false, got {params['all']!r}.", field="all")
    engine = server.engine
    if params.get("all"):
        removed = await server.in_worker(engine.remove, everything=True)
    elif "ids" in given:
        ids = _string_list(params["ids"], "ids")
        removed = await server.in_worker(engine.remove, ids=ids)
    else:
        workspace = server.folders.resolve(params.get("workspace"))
        server.status.transient(workspace, "removing")
        try:
            removed = await server.in_worker(engine.remove, workspace=workspace)
        finally:
            server.status.soon(workspace)
    server.status.soon()
    return {"removed": removed}


async def list_(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ())
    return [s.to_json() for s in await server.in_worker(server.engine.list)]


async def inspect(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ("workspace", "ids"))
    if params.get("ids") is not None:
        if params.get("workspace") is not None:
            raise BadInput("Pass either workspace or ids, not both.")
        sandboxes = await server.in_worker(server.engine.inspect,
                                           ids=_string_list(params["ids"], "ids"))
    else:
        workspace = server.folders.resolve(params.get("workspace"))
        sandboxes = await server.in_worker(server.engine.inspect, workspace=workspace)
    return [s.to_json_detailed() for s in sandboxes]


async def exec_(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ("workspace", "command"))
    command = _string_list(params.get("command"), "command")
    if not command:
        raise BadInput("'command' must name a program to run, got an empty list.",
                       field="command")
    workspace = server.folders.resolve(params.get("workspace"))
    # Not in_worker: a few long commands would take every engine worker, and every other request
    # (`list`, `status`, the status pushes) would wait for them.
    result = await server.in_command_worker(server.engine.exec, workspace, command)
    return result.to_json()


async def logs(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ("workspace", "tail"))
    tail = params.get("tail")
    if tail is not None and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
        raise BadInput(f"'tail' must be a whole number of lines, got {tail!r}.", field="tail")
    workspace = server.folders.resolve(params.get("workspace"))
    return {"text": await server.in_worker(server.engine.logs, workspace, tail)}


async def status(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ("workspace",))
    if params.get("workspace") is not None:
        workspaces = [server.folders.resolve(params["workspace"])]
    else:
        workspaces = [f.path for f in server.folders]
    await asyncio.gather(*(server.status.refresh(w) for w in workspaces))
    return [server.status.last(w) or {"workspace": w, "state": "absent", "sandbox": None,
                                      "drift": []} for w in workspaces]


async def agents_(server: BerthServer, params: dict[str, Any]) -> Any:
    _only(params, ())
    table = await server.in_worker(agents)
    return [a.to_json() for a in table.values()]


def _string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"'{name}' must be a list of strings, got {value!r:.80}.", field=name)
    if any("\x00" in v for v in value):
        raise BadInput(f"'{name}' contains a NUL character.", field=name)
    return value


HANDLERS: dict[str, Handler] = {
    "sandbox/run": run,
    "sandbox/stop": stop,
    "sandbox/recreate": recreate,
    "sandbox/remove": remove,
    "sandbox/list": list_,
    "sandbox/inspect": inspect,
    "sandbox/exec": exec_,
    "sandbox/logs": logs,
    "sandbox/status": status,
    "sandbox/agents": agents_,
}


def register(server: BerthServer) -> None:
    for method, handler in HANDLERS.items():
        _register_one(server, method, handler)


def _register_one(server: BerthServer, method: str, handler: Handler) -> None:
    async def as_request(ls: BerthServer, params: Any) -> Any:
        return await ls.answer(handler, lambda: _params(params))

    # No annotations: pygls evaluates a command handler's type hints to convert its arguments.
    async def as_command(ls, *args):  # noqa: ANN001, ANN002, ANN202
        def params() -> dict[str, Any]:
            if len(args) > 1:
                raise BadInput(f"{COMMANDS[method]} takes one object argument, got {len(args)}.")
            return _params(args[0] if args else None)

        return await ls.answer(handler, params)

    server.feature(method)(as_request)
    server.command(COMMANDS[method])(as_command)


def _params(raw: Any) -> dict[str, Any]:
    params = plain(raw)
    # JSON-RPC lets params be absent or null; Lua clients (Neovim) cannot tell an empty object from
    # an empty list and send `{}` as `[]`.
    if params is None or params == []:
        return {}
    if not isinstance(params, dict):
        raise BadInput(f"Parameters must be one JSON object, got {type(params).__name__}.")
    return params


class ProgressReporter:
    """`$/progress` for one long operation, fed from a worker thread; also drives transient status."""

    def __init__(self, server: BerthServer, title: str, workspace: str) -> None:
        self._server = server
        self._title = title
        self._workspace = workspace
        self._token: str | None = None
        self._loop = asyncio.get_running_loop()

    async def __aenter__(self) -> Progress:
        server = self._server
        caps = server.client_capabilities.window if server.client_capabilities else None
        if caps is not None and caps.work_done_progress:
            token = f"berth-{uuid.uuid4()}"
            try:
                await asyncio.wait_for(server.work_done_progress.create_async(token), 5)
                server.work_done_progress.begin(
                    token, types.WorkDoneProgressBegin(title=self._title, cancellable=False))
                self._token = token
            except Exception as exc:  # progress is a courtesy: a client refusing it changes nothing
                log.debug("Client refused progress: %s", exc)
        return self.report

    def report(self, phase: str, message: str) -> None:
        self._loop.call_soon_threadsafe(self._report_on_loop, phase, message)

    def _report_on_loop(self, phase: str, message: str) -> None:
        state = "starting" if phase == "starting" else "creating"
        self._server.status.transient(self._workspace, state, message)
        if self._token is not None:
            self._server.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=message))

    async def __aexit__(self, *exc: object) -> None:
        if self._token is not None:
            self._server.work_done_progress.end(self._token, types.WorkDoneProgressEnd())
