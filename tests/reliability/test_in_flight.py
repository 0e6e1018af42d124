"""Work in flight holds nothing else up: long `sandbox/exec` commands leave other requests answered,
and `exit` (or the editor closing the pipe) ends the server whatever it is still waiting for.

The commands are `sleep`s in a real sandbox; that they are running is read from the engine's own
`exec_start` events, not guessed from a pause.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import docker
import pytest
from support.reliability import TEMPLATE, EngineProxy, server_pid

EXIT_WAIT = 15.0  # generous: a prompt exit takes well under a second


async def commands_started(container: str, argv: list[str], count: int, since: float) -> None:
    """Return once the engine reports `count` execs of `argv` started in `container`."""
    action = "exec_start: " + " ".join(argv)

    def watch() -> int:
        api = docker.APIClient(version="auto")
        seen = 0
        # `until` ends the stream by itself should the commands never start.
        for event in api.events(since=since, until=since + 60, decode=True,
                                filters={"container": container, "event": "exec_start"}):
            seen += event.get("Action") == action
            if seen == count:
                break
        api.close()
        return seen

    seen = await asyncio.to_thread(watch)
    assert seen == count, f"only {seen} of {count} `{' '.join(argv)}` started in 60s"


async def exited(session, how: str) -> int:
    """Ask the server to end (`exit` after `shutdown`, or its stdin closed); its exit status."""
    client = session.client
    if how == "exit":
        await asyncio.wait_for(client.shutdown_async(None), EXIT_WAIT)
        client.exit(None)
    else:
        session.process.stdin.close()
    try:
        return await asyncio.wait_for(session.process.wait(), EXIT_WAIT)
    except TimeoutError:
        raise AssertionError(f"berth-server (pid {server_pid(session)}) still runs "
                             f"{EXIT_WAIT}s after {how}") from None


async def answered(session, method: str, params: dict[str, Any] | None = None) -> Any:
    """The answer to a request that must not wait for the long commands (they sleep 300 s)."""
    try:
        return await asyncio.wait_for(session.request(method, params), 20)
    except TimeoutError:
        raise AssertionError(f"{method} was not answered in 20s while commands ran") from None


async def test_long_execs_leave_other_requests_answered(sessions, workspace):
    s = await sessions([workspace], options={**TEMPLATE, "autoStart": "never"})
    sandbox = await s.request("sandbox/run")
    sleep = ["sleep", "300"]
    since = time.time()
    # As many as the engine workers that every other request shares.
    execs = [asyncio.ensure_future(s.request("sandbox/exec", {"command": sleep}))
             for _ in range(8)]
    await commands_started(sandbox["id"], sleep, 8, since)
    listed = await answered(s, "sandbox/list")
    assert sandbox["id"] in [x["id"] for x in listed]
    [status] = await answered(s, "sandbox/status")
    assert status["state"] == "running"
    [inspected] = await answered(s, "sandbox/inspect")
    assert inspected["id"] == sandbox["id"]
    # Neither is a short command queued behind the long ones, nor are more long ones.
    more = asyncio.ensure_future(s.request("sandbox/exec", {"command": sleep}))
    await commands_started(sandbox["id"], sleep, 9, since)
    out = await answered(s, "sandbox/exec", {"command": ["echo", "ok"]})
    assert out == {"exitCode": 0, "stdout": "ok\n", "stderr": ""}
    execs.append(more)
    assert not any(e.done() for e in execs)
    # They are still running when the session ends: that must not wait for them either.
    assert await exited(s, "exit") == 0
    for e in execs:
        e.cancel()


@pytest.mark.parametrize("how", ["exit", "stdin closed"])
async def test_the_server_ends_during_a_long_exec(sessions, workspace, docker_api, how):
    s = await sessions([workspace], options={**TEMPLATE, "autoStart": "never"})
    sandbox = await s.request("sandbox/run")
    sleep = ["sleep", "600"]
    since = time.time()
    running = asyncio.ensure_future(s.request("sandbox/exec", {"command": sleep}))
    await commands_started(sandbox["id"], sleep, 1, since)
    assert await exited(s, how) == 0
    running.cancel()
    # The sandbox is the workspace's, not the editor's: it keeps running, and so does the command.
    assert docker_api.inspect_container(sandbox["id"])["State"]["Running"]
    processes = docker_api.top(sandbox["id"])["Processes"]
    assert any(" ".join(sleep) in " ".join(p) for p in processes), processes


async def test_the_server_ends_during_a_stalled_engine_call(sessions, workspace, tmp_path):
    proxy = EngineProxy(str(tmp_path / "engine.sock"))
    try:
        # The stalled call only times out after a minute: exiting must not wait for it.
        s = await sessions([workspace], options={**TEMPLATE, "autoStart": "never"},
                           env={"DOCKER_HOST": proxy.url, "BERTH_ENGINE_TIMEOUT": "60"})
        await s.request("sandbox/run")
        proxy.stall(r"/containers/[0-9a-f]+/logs")
        stuck = asyncio.ensure_future(s.request("sandbox/logs"))
        started = time.monotonic()
        while not proxy.stalled:  # the request has reached the engine link and hangs there
            await asyncio.sleep(0.05)
            assert time.monotonic() - started < 10, "the logs request never reached the engine"
        assert not stuck.done()
        assert await exited(s, "exit") == 0
        stuck.cancel()
    finally:
        proxy.close()
