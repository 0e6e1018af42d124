"""Every form JSON-RPC allows for a request's params is answered, and an empty one means "none".

A client library normalises params before sending them (pygls's own client sends `{}` for none), so
these requests are written to the server's stdin byte for byte: params left out, `null`, `{}`, `[]`
(Lua clients such as Neovim's cannot tell an empty object from an empty list), and objects with a
`"jsonrpc"` key somewhere inside. The answers are read by the harness's real LSP client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
from berth.lsp.sandbox_requests import COMMANDS
from pygls.exceptions import JsonRpcException
from support.reliability import TEMPLATE, assert_clean_error

OMITTED = object()  # no "params" member at all (no "arguments" member, for a command)
IDS = itertools.count(700_000)  # far from the client's own ids, which are UUIDs
# Each request's optional fields, all set to null: the same as leaving them out.
NULLS = {
    "sandbox/run": dict.fromkeys(["workspace", "agent", "template", "env", "volumes",
                                  "mountDockerSocket", "credentials", "hostCertificates", "name",
                                  "networkPolicy", "allowHosts", "denyHosts", "agentArgs",
                                  "recreate", "branch", "base", "ports", "cpus", "memory",
                                  "pidsLimit", "gpus", "framed"]),
    "sandbox/recreate": dict.fromkeys(["workspace", "agent", "template", "env", "volumes",
                                       "mountDockerSocket", "credentials", "hostCertificates",
                                       "name", "networkPolicy", "allowHosts", "denyHosts",
                                       "agentArgs", "recreate", "branch", "base", "ports", "cpus",
                                       "memory", "pidsLimit", "gpus", "framed"]),
    "sandbox/stop": {"workspace": None, "name": None},
    "sandbox/remove": {"workspace": None, "name": None, "ids": None, "all": None},
    "sandbox/list": {},
    "sandbox/inspect": {"workspace": None, "name": None, "ids": None},
    "sandbox/exec": {"workspace": None, "name": None},
    "sandbox/logs": {"workspace": None, "name": None, "tail": None},
    "sandbox/status": {"workspace": None, "name": None},
    "sandbox/agents": {},
    "sandbox/engine": {},
    "sandbox/policy": {"workspace": None, "name": None, "ids": None},
    # No change named: the same error, however the params are written.
    "sandbox/changePolicy": {"workspace": None, "name": None, "allow": None, "deny": None,
                             "reset": None},
    "sandbox/networkLog": {"workspace": None, "name": None, "tail": None},
    # The folder is no git repository: the same error, however the params are written.
    "sandbox/worktrees": {"workspace": None},
    "sandbox/removeWorktree": {"workspace": None, "branch": None, "discardIgnored": None},
    "sandbox/worktreeDiff": {"workspace": None, "branch": None},
    # The sandbox's ports: answered alike however the params are written.
    "sandbox/ports": {"workspace": None, "name": None, "ids": None},
    # No port named: the same error, however the params are written.
    "sandbox/forwardPort": {"workspace": None, "name": None, "port": None, "hostPort": None,
                            "hostIp": None},
    "sandbox/unforwardPort": {"workspace": None, "name": None, "port": None, "hostPort": None},
    # The sandbox's sessions (none: the agent never ran), and none to attach or stop.
    "sandbox/sessions": {"workspace": None, "name": None, "ids": None},
    "sandbox/attachSession": {"workspace": None, "name": None, "session": None, "framed": None},
    "sandbox/stopSession": {"workspace": None, "name": None, "session": None},
    # No agents: answered with the same badInput in every form, and nothing is built.
    "sandbox/buildTemplate": {"agents": None, "tag": None, "base": None, "hostCertificates": None,
                              "workDoneToken": None},
    "sandbox/templates": {},
    "sandbox/updateTemplates": {"tags": None, "hostCertificates": None, "workDoneToken": None},
}


async def send(session, method: str, params: Any = OMITTED, *, timeout: float = 60) -> Any:
    """Write one request to the server's stdin as given; its result, or the JsonRpcException."""
    ident = next(IDS)
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not OMITTED:
        message["params"] = params
    body = json.dumps(message).encode()
    answered = asyncio.get_running_loop().create_future()
    session.client.protocol._request_futures[ident] = answered
    stdin = session.client._server.stdin
    stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    await stdin.drain()
    try:
        return await asyncio.wait_for(answered, timeout)
    except JsonRpcException as exc:
        assert_clean_error(exc)
        return exc
    except TimeoutError:
        raise AssertionError(f"{body.decode()} was not answered in {timeout}s") from None


def command(method: str, arguments: Any = OMITTED) -> dict[str, Any]:
    params: dict[str, Any] = {"command": COMMANDS[method]}
    if arguments is not OMITTED:
        params["arguments"] = arguments
    return params


def shape(answer: Any, folder: str) -> Any:
    """What must not depend on the form: the error, or the result less what changes by itself."""
    if isinstance(answer, JsonRpcException):
        return ("error", answer.code, answer.message)
    if isinstance(answer, list):  # list: other suites' sandboxes on this engine come and go
        return [x for x in answer if x.get("workspace") == folder]
    if isinstance(answer, dict) and "attach" in answer:  # recreate: a new container each time
        return {k: v for k, v in answer.items()
                if k not in ("id", "createdAt", "attach", "shell")}
    return answer


@pytest.fixture
async def running(sessions, workspace):
    s = await sessions([workspace], options={**TEMPLATE, "autoStart": "never"})
    sandbox = await s.request("sandbox/run")
    return s, workspace, sandbox


# Not remove (without params it removes the folder's sandbox), nor updateTemplates (it rebuilds every
# template Berth built on the engine): each form would do it again.
@pytest.mark.parametrize("method", [m for m in COMMANDS
                                    if m not in ("sandbox/remove", "sandbox/updateTemplates")])
async def test_every_empty_params_form_is_answered_as_none(method, running):
    s, folder, _ = running
    expected = shape(await send(s, method, {}), folder)
    forms = {"left out": OMITTED, "null": None, "[]": [], "optional fields null": NULLS[method]}
    for name, params in forms.items():
        assert shape(await send(s, method, params), folder) == expected, name
    # workspace/executeCommand: the same, as the command's one argument (Neovim sends a Lua `{}`,
    # as in `arguments = {{}}`, as `[[]]`).
    for arguments in (OMITTED, None, [], [{}], [[]], [None], [NULLS[method]]):
        answer = await send(s, "workspace/executeCommand", command(method, arguments))
        assert shape(answer, folder) == expected, arguments


async def test_remove_takes_every_empty_params_form_as_the_only_folder(running):
    s, folder, sandbox = running
    forms = [("sandbox/remove", p) for p in ({}, OMITTED, None, [], NULLS["sandbox/remove"])]
    forms += [("workspace/executeCommand", command("sandbox/remove", a))
              for a in (OMITTED, None, [[]], [None])]
    for method, params in forms:
        answer = await send(s, method, params)
        assert answer == {"removed": [sandbox["id"]]}, (method, params)
        sandbox = await s.request("sandbox/run")


async def test_execute_command_without_a_command_is_refused(running):
    s, _, _ = running
    for params in (OMITTED, None, {}, [], {"arguments": [{}]}):
        error = await send(s, "workspace/executeCommand", params)
        assert isinstance(error, JsonRpcException), params
        assert error.code == -32602 and error.data["kind"] == "badInput", params
        assert "workspace/executeCommand" in error.message and "params" in error.message


async def test_a_jsonrpc_key_inside_params_is_only_data(running, docker_api):
    s, folder, sandbox = running
    # Shaped like a message of its own, nested: it must neither break decoding nor be obeyed.
    lookalike = {"jsonrpc": "2.0", "id": 4242, "method": "sandbox/remove", "params": {}}
    for method, params in (("sandbox/status", {"workspace": folder, "jsonrpc": 1}),
                           ("sandbox/inspect", {"workspace": folder, "x": lookalike}),
                           ("workspace/executeCommand",
                            command("sandbox/status", [{"workspace": folder, "jsonrpc": "2.0"}])),
                           ("workspace/executeCommand",
                            command("sandbox/logs", [{"tail": 1, "extra": lookalike}]))):
        error = await send(s, method, params)
        assert isinstance(error, JsonRpcException), (method, params)
        assert error.code == -32602 and "Unknown parameter" in error.message, error.message
    # In a value, it is a value: an environment variable called jsonrpc, not in the sandbox.
    for method, params in (("sandbox/run", {"env": {"jsonrpc": "x"}}),
                           ("workspace/executeCommand",
                            command("sandbox/run", [{"env": {"jsonrpc": "x"}}]))):
        result = await send(s, method, params)
        assert result["id"] == sandbox["id"], result
        assert [d["requested"] for d in result["drift"] if d["field"] == "env"] == [["jsonrpc"]]
    assert docker_api.inspect_container(sandbox["id"])["State"]["Running"]
