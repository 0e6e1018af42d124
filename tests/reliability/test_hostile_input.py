"""Hostile input: arbitrary JSON at every request, arbitrary strings at the parsers, weird paths, and
oversized messages. Only clean errors, and the server lives."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from berth.config import parse_request
from berth.engine import Engine
from berth.errors import BadInput
from berth.lsp.sandbox_requests import COMMANDS
from berth.workspace import resolve_workspace
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from support.containers import remove_sandboxes_of, sandboxes_of

# Any character, lone surrogates included: JSON "\ud800" escapes deliver them to the server.
from support.fuzz import JSON, TEXT
from support.images import CLAUDE, HOST_UID
from support.reliability import (
    CLEAN_CODES,
    assert_clean_error,
    server_pid,
    start_session,
    stop_session,
    uri,
)

FIELDS = ["workspace", "ids", "all", "command", "tail", "agent", "template", "env", "volumes",
          "mountDockerSocket", "credentials", "name", "agentArgs", "recreate"]
# Busybox applets (the test templates' only programs) that can run until killed: a fuzzed `exec`
# must not start a daemon or an endless command. Everything else, unknown names included, runs.
APPLETS = set(subprocess.run(["busybox", "--list"], capture_output=True,
                             text=True).stdout.split())


def params_strategy(folder: str):
    values = st.one_of(
        JSON,
        st.sampled_from([folder, uri(folder), folder + "/..", folder + "/", "/", "/nonexistent",
                         "file:///nonexistent", "relative", "", "\x00", "a" * 5000]),
        st.lists(TEXT, max_size=3))
    objects = st.dictionaries(st.sampled_from(FIELDS) | TEXT, values, max_size=4)
    return objects | JSON


def allowed(method: str, params) -> bool:
    if not isinstance(params, dict):
        return True
    if method in ("sandbox/remove", "sandbox/stop", "sandbox/exec"):
        # Never remove, stop or run a command in other people's sandboxes on this machine: no
        # `all`, no ids that could be an id prefix or a name. Refusals of malformed ones still run.
        if params.get("all") is True:
            return False
        ids = params.get("ids")
        if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
            return False
    if method == "sandbox/exec":
        command = params.get("command")
        if isinstance(command, list) and command and isinstance(command[0], str):
            return os.path.basename(command[0].strip()) not in APPLETS
    return True


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def live_server(loop, make_workspace, docker_api):
    """A server whose one folder has a running sandbox; its settings name a template that is not on
    this engine, so no fuzzed request can create or recreate a sandbox (it fails to pull)."""
    folder = make_workspace("fuzz")
    Engine().run(folder, parse_request({"template": CLAUDE}))
    session = loop.run_until_complete(start_session(
        [folder], options={"template": "berth-test/not-built:0", "autoStart": "never"}))
    yield session, folder
    loop.run_until_complete(stop_session(session))


async def answer(session, method: str, params):
    if method == "workspace/executeCommand":  # the client sends it typed; its arguments stay raw
        params = types.ExecuteCommandParams(**params)
    try:
        result = await asyncio.wait_for(
            session.client.protocol.send_request_async(method, params), 30)
    except JsonRpcException as exc:
        assert_clean_error(exc)
        json.dumps(exc.data)
        return exc
    json.dumps(result)
    return result


@pytest.mark.parametrize("method", [*COMMANDS, "workspace/executeCommand"])
def test_arbitrary_params_get_clean_errors_and_the_server_lives(method, live_server, loop,
                                                                docker_api):
    session, folder = live_server
    strategy = params_strategy(folder)
    if method == "workspace/executeCommand":
        strategy = st.fixed_dictionaries({
            "command": st.sampled_from(sorted(COMMANDS.values())) | TEXT,
            "arguments": st.lists(strategy, max_size=2)})

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(params=strategy)
    def check(params):
        target = params.get("command") if method == "workspace/executeCommand" else method
        args = params.get("arguments") if method == "workspace/executeCommand" else [params]
        for one in args:
            assume(allowed({v: k for k, v in COMMANDS.items()}.get(target, target), one))
        loop.run_until_complete(answer(session, method, params))
        if not sandboxes_of(docker_api, folder):  # a fuzzed remove took it: put one back
            Engine().run(folder, parse_request({"template": CLAUDE}))

    check()
    assert session.client._server.returncode is None
    statuses = loop.run_until_complete(session.request("sandbox/status"))
    assert statuses[0]["workspace"] == folder


# -- weird paths --------------------------------------------------------------------------------


def berth_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli", *args], capture_output=True,
                          timeout=60)


WEIRD = ["with space", "quote's \"double\"", "new\nline", "colon:comma,semi;", "tab\there",
         "dollar $HOME `x`", "üñï €", "-leading-dash", "trailing space "]


@pytest.mark.parametrize("name", WEIRD)
def test_weird_workspace_paths_work_or_are_refused_clearly(name, tmp_path, docker_api):
    parent = tmp_path / "p"
    parent.mkdir(exist_ok=True)
    folder = parent / name
    folder.mkdir()
    os.chown(folder, HOST_UID, HOST_UID)
    real = os.path.realpath(folder)
    try:
        # Reached through `..` and through a symlink: the same one sandbox, at the real path.
        link = tmp_path / "link"
        link.symlink_to(folder)
        for how in (str(folder), f"{folder}/../{name}", str(link)):
            out = berth_cli("run", "-d", "-q", "-w", how, "-t", CLAUDE, "claude")
            assert b"Traceback" not in out.stderr, out.stderr
            if out.returncode != 0:  # refused: a usage-class error, said plainly
                assert out.returncode == 2 and out.stderr.startswith(b"berth: error: "), out
                continue
            [sandbox] = sandboxes_of(docker_api, real)
            assert out.stdout.decode().strip() == sandbox["Id"][:12]
        if sandboxes_of(docker_api, real):
            Path(real, "marker").write_text("x")
            ex = berth_cli("exec", "-w", real, "sh", "-c", 'pwd; cat marker')
            assert ex.returncode == 0 and ex.stdout.decode() == f"{real}\nx", ex
    finally:
        remove_sandboxes_of(docker_api, real)


def test_non_utf8_paths_are_refused_clearly(tmp_path, docker_api):
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9-latin1")
    os.mkdir(folder)
    host = os.path.join(os.fsencode(tmp_path), b"vol\xff")
    os.mkdir(host)
    out = subprocess.run([sys.executable, "-m", "berth.cli", "run", "-d", "-w", folder, "-t",
                          CLAUDE, "claude"], capture_output=True, timeout=60)
    assert out.returncode == 2, out
    assert out.stderr.startswith(b"berth: error: Workspace path ") and b"not valid UTF-8" in \
        out.stderr and b"Traceback" not in out.stderr
    ok = os.fsdecode(tmp_path)
    out = subprocess.run([sys.executable, "-m", "berth.cli", "run", "-d", "-w", ok, "-v",
                          host + b":/data", "-t", CLAUDE, "claude"], capture_output=True, timeout=60)
    try:
        assert out.returncode == 2, out
        assert b"not valid UTF-8" in out.stderr and b"Traceback" not in out.stderr
    finally:
        remove_sandboxes_of(docker_api, ok)
    with pytest.raises(BadInput, match="not valid UTF-8"):
        resolve_workspace(uri(os.fsdecode(folder)))  # %E9 in a file: URI


# -- oversized messages -------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def test_a_200_mb_message_is_refused_in_little_memory(workspace):
    s = await start_session([workspace], options={"template": CLAUDE})
    try:
        await s.request("sandbox/status")
        pid = server_pid(s)
        baseline = peak_rss_mb(pid)
        size = 200 * 1024 * 1024
        head = b'{"jsonrpc":"2.0","id":424242,"method":"sandbox/run","params":{"env":["A='
        tail = b'"]}}'
        answered = asyncio.get_running_loop().create_future()
        s.client.protocol._request_futures[424242] = answered
        stdin = s.client._server.stdin
        stdin.write(b"Content-Length: %d\r\n\r\n" % size + head)
        chunk = b"x" * (1 << 20)
        left = size - len(head) - len(tail)
        while left > 0:
            stdin.write(chunk[:left])
            left -= min(left, len(chunk))
            await stdin.drain()
        stdin.write(tail)
        await stdin.drain()
        with pytest.raises(JsonRpcException) as info:
            await asyncio.wait_for(answered, 60)
        assert info.value.code == -32602 and "limit" in info.value.message
        assert (await s.request("sandbox/status"))[0]["state"] == "absent"
        peak = peak_rss_mb(pid)
        assert peak - baseline < 40, (baseline, peak)
    finally:
        await stop_session(s)


async def test_arbitrary_settings_never_break_a_folder(workspace):
    """Settings are input too: whatever an editor sends, statuses keep coming and requests answer."""
    s = await start_session([workspace], configuration={uri(workspace): {"template": CLAUDE}})
    try:
        await s.wait_status(workspace, "absent")
        for raw in ({"env": {"A": 1}}, {"volumes": "x"}, {"autoStart": ["x"]}, [], "berth", 7,
                    {"template": "\udcff"}, {"name": "bad name"}, {"agent": None, "env": None},
                    {"credentials": {"x": 1}}, {"mountDockerSocket": "yes"}):
            s.client.set_configuration(raw, section="berth", scope_uri=uri(workspace))
            s.client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"berth": raw}))
            statuses = await s.request("sandbox/status")
            assert statuses[0]["workspace"] == workspace, raw
        assert s.client._server.returncode is None
    finally:
        await stop_session(s)


assert CLEAN_CODES  # imported for the reader: the only codes assert_clean_error accepts
