"""The link to the engine breaks or stalls while dockerd stays up.

The server talks to the real engine through EngineProxy (a unix socket in tmp forwarding to
/var/run/docker.sock), which can drop every connection, refuse new ones, or swallow requests for one
path. BERTH_ENGINE_TIMEOUT lowers the server's engine-call bound (30 s by default) to keep this quick.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from berth.config import parse_request
from berth.engine import Engine
from support.containers import sandboxes_of
from support.engine import FRESH_LOG, log_events
from support.images import CLAUDE
from support.reliability import (
    BOUND,
    TEMPLATE,
    assert_clean_error,
    env_for,
)


async def test_dropped_connections_lose_no_event(sessions, make_workspace, proxy):
    folder, unopened = make_workspace("open"), make_workspace("unopened")
    s = await sessions([folder], options=TEMPLATE, env=env_for(proxy))
    result = await s.request("sandbox/run")
    await s.wait_status(folder, "running")

    # 1. Connections cut, the engine reachable at once again: changes keep being reported.
    for _ in range(3):
        mark = len(s.statuses)
        assert proxy.cut() >= 1  # the event stream at least
        subprocess.run(["docker", "stop", "-t", "1", result["id"]], check=True, capture_output=True)
        await s.wait_status(folder, "stopped", after=mark)
        mark = len(s.statuses)
        proxy.cut()
        subprocess.run(["docker", "start", result["id"]], check=True, capture_output=True)
        await s.wait_status(folder, "running", after=mark)

    # 2. The link is down for a while: the folder says so, requests fail clearly, and what changed
    #    meanwhile -- including a sandbox of a folder this server never opened, which only the
    #    replayed event stream can tell it of -- is reported once the link is back.
    mark = len(s.statuses)
    proxy.refuse()
    proxy.cut()
    status = await s.wait_status(folder, "unavailable", after=mark, timeout=8)
    assert "not answering" in status["message"]
    error = await s.error("sandbox/run")
    assert_clean_error(error, codes={-32002})
    Engine().run(unopened, parse_request({"template": CLAUDE}))  # straight to the real socket
    subprocess.run(["docker", "stop", "-t", "1", result["id"]], check=True, capture_output=True)
    back = len(s.statuses)
    proxy.refuse(False)
    await s.wait_status(folder, "stopped", after=back)
    seen = await s.wait_status(unopened, "running", after=back)
    assert seen["sandbox"]["id"] == sandboxes_of_id(unopened)
    again = await s.request("sandbox/run")
    assert again["id"] == result["id"] and not again["created"]


def sandboxes_of_id(workspace: str) -> str:
    import docker

    [c] = sandboxes_of(docker.APIClient(version="auto"), workspace)
    return c["Id"][:12]


async def test_a_stuck_engine_call_fails_in_bound_and_freezes_nothing(sessions, make_workspace,
                                                                     proxy):
    a, b = make_workspace("a"), make_workspace("b")
    s = await sessions([a, b], options=TEMPLATE, env=env_for(proxy))
    await s.request("sandbox/run", {"workspace": a})
    await s.wait_status(b, "absent")

    proxy.stall(r"/containers/[0-9a-f]+/logs")
    started = time.monotonic()
    stuck = asyncio.ensure_future(s.request("sandbox/logs", {"workspace": a}))
    while not proxy.stalled:  # the logs request has reached the engine link and hangs there
        await asyncio.sleep(0.05)
        assert time.monotonic() - started < 5
    # Everything else answers meanwhile, promptly -- about the same sandbox too.
    for method, params in (("sandbox/status", {}), ("sandbox/list", {}),
                           ("sandbox/inspect", {"workspace": a}),
                           ("sandbox/exec", {"workspace": a, "command": ["echo", "ok"]})):
        t0 = time.monotonic()
        await asyncio.wait_for(s.request(method, params), 2.5)
        assert time.monotonic() - t0 < 2.5, method
    assert not stuck.done()
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(stuck, BOUND + 5)
    assert_clean_error(info.value, codes={-32002})
    assert "timed out" in info.value.message.lower()
    assert BOUND - 0.5 < time.monotonic() - started < BOUND + 5
    proxy.stall(None)
    assert log_events((await s.request("sandbox/logs", {"workspace": a}))["text"]) == FRESH_LOG

    # A start that never answers: run fails in bound, and leaves no half-made sandbox behind.
    proxy.stall(r"/containers/[0-9a-f]+/start")
    t0 = time.monotonic()
    error = await s.error("sandbox/run", {"workspace": b})
    assert_clean_error(error, codes={-32002})
    assert time.monotonic() - t0 < BOUND + 5
    import docker

    assert sandboxes_of(docker.APIClient(version="auto"), b) == []
    proxy.stall(None)
    ok = await s.request("sandbox/run", {"workspace": b})
    assert ok["created"] and ok["status"] == "running"
