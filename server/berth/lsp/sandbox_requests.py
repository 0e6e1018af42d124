"""The `sandbox/*` requests, each also advertised as a `workspace/executeCommand` command.

Named for what it holds, not `requests` (the HTTP library docker-py is built on).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from berth import user_config
from berth.agents import agents
from berth.branches import run_on_branch
from berth.config import ConfigRequest, parse_agent_args, parse_name, parse_request
from berth.errors import BadInput
from berth.lsp.params import plain
from berth.models import RunResult, Status
from berth.selection import ALL, IDS, NAME, WORKSPACE, Selection

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.lsp.server import BerthServer, Workers
    from berth.lsp.starter import SandboxStarter
    from berth.lsp.status import StatusPublisher

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

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
    "sandbox/engine": "berthServer.engine",
    "sandbox/policy": "berthServer.policy",
    "sandbox/changePolicy": "berthServer.changePolicy",
    "sandbox/networkLog": "berthServer.networkLog",
    "sandbox/worktrees": "berthServer.worktrees",
    "sandbox/removeWorktree": "berthServer.removeWorktree",
    "sandbox/worktreeDiff": "berthServer.worktreeDiff",
    "sandbox/ports": "berthServer.ports",
    "sandbox/forwardPort": "berthServer.forwardPort",
    "sandbox/unforwardPort": "berthServer.unforwardPort",
    "sandbox/sessions": "berthServer.sessions",
    "sandbox/attachSession": "berthServer.attachSession",
    "sandbox/stopSession": "berthServer.stopSession",
    "sandbox/buildTemplate": "berthServer.buildTemplate",
    "sandbox/templates": "berthServer.templates",
    "sandbox/updateTemplates": "berthServer.updateTemplates",
}

RUN_EXTRA = ("workspace", "agentArgs", "recreate", "accept", "branch", "base", "framed")


def bool_param(params: dict[str, Any], key: str) -> bool:
    value = params.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadInput(f"'{key}' must be true or false, got {value!r:.40}.", field=key)
    return value is True


def only(params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in params:
        if key not in allowed:
            raise BadInput(f"Unknown parameter {str(key)[:80]!r}; expected "
                           f"{', '.join(allowed) or 'no parameters'}.", field=str(key)[:80])


class SandboxRequests:
    """The handlers, with what they work with passed in."""

    def __init__(self, engine: Engine, folders: Folders, status: StatusPublisher,
                 starter: SandboxStarter, workers: Workers) -> None:
        self._engine = engine
        self._folders = folders
        self._status = status
        self._starter = starter
        self._workers = workers

    def handlers(self) -> dict[str, Handler]:
        return {
            "sandbox/run": self.run,
            "sandbox/stop": self.stop,
            "sandbox/recreate": self.recreate,
            "sandbox/remove": self.remove,
            "sandbox/list": self.list_,
            "sandbox/inspect": self.inspect,
            "sandbox/exec": self.exec_,
            "sandbox/logs": self.logs,
            "sandbox/status": self.status,
            "sandbox/agents": self.agents_,
            "sandbox/engine": self.engine_,
        }

    async def run(self, params: dict[str, Any], *, recreate: bool = False) -> Any:
        workspace = self._folders.resolve(params.get("workspace"))
        explicit = parse_request(params, ignore=RUN_EXTRA)
        # A name given with the request picks (or makes) the workspace's sandbox of that name; the
        # folder's `name` setting only names its default one.
        name = explicit.fields.get(NAME)
        settings = self._folders.settings_for(workspace)
        if params.get("branch") is not None:
            # The folder's `name` names its own sandbox: a worktree's gets a name of its own.
            settings = ConfigRequest({k: v for k, v in settings.fields.items() if k != NAME})
        request = explicit.over(settings)
        agent_args = parse_agent_args(params.get("agentArgs"))
        recreate = recreate or params.get("recreate") is True
        framed = bool_param(params, "framed")
        if "recreate" in params and params["recreate"] is not None \
                and not isinstance(params["recreate"], bool):
            raise BadInput(f"'recreate' must be true or false, got {params['recreate']!r}.",
                           field="recreate")
        accepted = (string_list(params["accept"], "accept")
                    if params.get("accept") is not None else [])
        branch, base = text_param(params, "branch"), text_param(params, "base")
        if base is not None and branch is None:
            raise BadInput("'base' only says where a new 'branch' starts; give 'branch' too.",
                           field="base", value=base)
        # A named sandbox keeps what it was made with: the folder's settings are its default one's.
        drift_from = explicit if name is not None else None
        if branch is None:
            result = await self._starter.start(workspace, request, agent_args, recreate=recreate,
                                               explicit=explicit, accepted=accepted, name=name,
                                               drift_from=drift_from, framed=framed)
            return result.to_json()
        loop = asyncio.get_running_loop()

        def run_in(path: str) -> RunResult:
            # On a command worker: the start's own awaits run on the loop meanwhile.
            return asyncio.run_coroutine_threadsafe(self._starter.start(
                path, request, agent_args, recreate=recreate, explicit=explicit,
                accepted=accepted, name=name, folder=workspace, drift_from=drift_from,
                framed=framed),
                loop).result()

        result, worktree, made = await self._workers.command(run_on_branch, workspace, branch,
                                                             base, run_in)
        return {**result.to_json(), "worktree": {**worktree.to_json(), "made": made}}

    async def recreate(self, params: dict[str, Any]) -> Any:
        return await self.run(params, recreate=True)

    async def stop(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, ALL))
        which = self._selection(params, (WORKSPACE, IDS, ALL))
        if which.workspace is None:
            stopped = await self._workers.engine(self._engine.stop_selected, which)
            self._status.soon()
            return [sandbox.to_json() for sandbox in stopped]
        self._status.transient(which.workspace, "stopping", name=which.name)
        try:
            [sandbox] = await self._workers.engine(self._engine.stop_selected, which)
        finally:
            self._status.soon(which.workspace, which.name)
        return sandbox.to_json()

    async def remove(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, ALL))
        which = self._selection(params, (WORKSPACE, IDS, ALL))
        if which.workspace is None:
            removed = await self._workers.engine(self._engine.remove, which)
        else:
            self._status.transient(which.workspace, "removing", name=which.name)
            try:
                removed = await self._workers.engine(self._engine.remove, which)
            finally:
                self._status.soon(which.workspace, which.name)
        self._status.soon()
        return {"removed": removed}

    async def list_(self, params: dict[str, Any]) -> Any:
        only(params, ())
        return [s.to_json() for s in await self._workers.engine(self._engine.list)]

    async def inspect(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS))
        which = self._selection(params, (WORKSPACE, IDS))
        found = await self._workers.engine(self._engine.inspect, which)
        return [s.to_json_detailed() for s in found]

    async def exec_(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, "command"))
        command = string_list(params.get("command"), "command")
        if not command:
            raise BadInput("'command' must name a program to run, got an empty list.",
                           field="command")
        which = self._selection(params, (WORKSPACE, IDS), single=True)
        # Not the engine workers: a few long commands would take every one of them, and every
        # other request (`list`, `status`, the status pushes) would wait for them.
        result = await self._workers.command(self._engine.exec, which, command)
        return result.to_json()

    async def logs(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, "tail"))
        tail = params.get("tail")
        if tail is not None and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
            raise BadInput(f"'tail' must be a whole number of lines, got {tail!r}.", field="tail")
        which = self._selection(params, (WORKSPACE, IDS), single=True)
        return {"text": await self._workers.engine(self._engine.logs, which, tail)}

    def _selection(self, params: dict[str, Any], forms: tuple[str, ...], *,
                   single: bool = False) -> Selection:
        """The sandboxes the params name (`forms` of them allowed); none named: the only open
        folder's."""
        return Selection.of(workspace=params.get(WORKSPACE), ids=params.get(IDS),
                            everything=params.get(ALL), name=params.get(NAME), forms=forms,
                            default=lambda: self._folders.resolve(None), single=single)

    async def status(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME))
        if params.get(WORKSPACE) is not None:
            workspaces = [self._folders.resolve(params[WORKSPACE])]
        elif params.get(NAME) is not None:
            workspaces = [self._folders.resolve(None)]  # the name is of the only open folder's
        else:
            workspaces = [f.path for f in self._folders]
        if params.get(NAME) is not None:
            name = parse_name(params[NAME])
            await self._status.refresh(workspaces[0], name)
            return [(self._status.last(workspaces[0], name)
                     or Status(workspaces[0], "absent", name=name)).to_json()]
        await asyncio.gather(*(self._status.refresh_workspace(w) for w in workspaces))
        return [s.to_json() for w in workspaces for s in self._status.of_workspace(w)]

    async def agents_(self, params: dict[str, Any]) -> Any:
        only(params, ())
        table = await self._workers.engine(agents)
        recipes = await self._workers.engine(lambda: user_config.load().recipes)
        # `recipe`: whether Berth can build a template for it (sandbox/buildTemplate).
        return [{**a.to_json(), "recipe": a.name in recipes.agents} for a in table.values()]


    async def engine_(self, params: dict[str, Any]) -> Any:
        only(params, ())
        return await self._workers.engine(self._engine.engine_info)


def text_param(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        raise BadInput(f"'{name}' must be a non-empty string, got {value!r:.80}.", field=name)
    return value


def one_sandbox(params: dict[str, Any], folders: Folders) -> Selection:
    """The one sandbox a request names: by `ids`, or a workspace's (default: the only open folder),
    its default one or the one of `name`."""
    return Selection.of(workspace=params.get(WORKSPACE), ids=params.get(IDS),
                        name=params.get(NAME), forms=(WORKSPACE, IDS), single=True,
                        default=lambda: folders.resolve(None))


def string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"'{name}' must be a list of strings, got {value!r:.80}.", field=name)
    if any("\x00" in v for v in value):
        raise BadInput(f"'{name}' contains a NUL character.", field=name)
    return value


class _Feature(Protocol):
    def handlers(self) -> dict[str, Handler]: ...


def register(server: BerthServer, requests: _Feature) -> None:
    for method, handler in requests.handlers().items():
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
