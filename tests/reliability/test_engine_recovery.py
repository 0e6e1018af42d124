"""Statuses come back to the engine's truth after any transient failure, and nothing waits forever.

The server talks to the real engine through EngineProxy, which stalls one kind of request, refuses
connections, or silences an established event stream (a half-open link: no bytes and no FIN).
BERTH_ENGINE_TIMEOUT is lowered to keep each wait short.
"""

from __future__ import annotations

import asyncio
import subprocess

from berth.config import parse_request
from berth.engine import Engine
from support.containers import sandboxes_of
from support.images import CLAUDE
from support.reliability import BOUND, TEMPLATE, env_for, uri


async def wait_latest(session, expected: dict[str, str], timeout: float) -> None:
    """Until the last status sent for each workspace has the expected state."""
    async def settled() -> None:
        while any((session.latest(w) or {}).get("state") != state for w, state in expected.items()):
            async with session._changed:
                await session._changed.wait()

    try:
        await asyncio.wait_for(settled(), timeout)
    except TimeoutError:
        seen = {w: [s["state"] for s in session.statuses if s["workspace"] == w] for w in expected}
        raise AssertionError(f"statuses did not settle on {expected} in {timeout}s: {seen}") from None


async def test_one_stuck_status_read_leaves_no_folder_unavailable(sessions, make_workspace, proxy,
                                                                  docker_api):
    a, b = make_workspace("a"), make_workspace("b")
    s = await sessions([a, b], options=TEMPLATE, env=env_for(proxy))
    await s.request("sandbox/run", {"workspace": a})
    await wait_latest(s, {a: "running", b: "absent"}, 30)
    [container] = sandboxes_of(docker_api, a)

    # Inspecting a's sandbox hangs (the engine is busy with it); everything else answers.
    mark = len(s.statuses)
    proxy.stall(rf"/containers/{container['Id']}/json")
    read = await asyncio.wait_for(s.request("sandbox/status", {"workspace": a}), BOUND + 10)
    assert proxy.stalled
    assert read[0]["workspace"] == a and read[0]["state"] == "unavailable", read
    assert "timed out" in read[0]["message"].lower()
    assert await s.request("sandbox/list")  # requests keep working meanwhile
    proxy.stall(None)

    # Nothing else happens on the engine: the server itself must re-read a's status.
    await wait_latest(s, {a: "running", b: "absent"}, BOUND + 10)
    assert (s.latest(a) or {})["sandbox"]["id"] == container["Id"][:12]
    # The engine kept answering: b, whose reads never failed, was never called unavailable.
    assert "unavailable" not in [st["state"] for st in s.statuses[mark:] if st["workspace"] == b]


async def test_auto_start_waits_for_an_engine_that_starts_after_the_editor(sessions, make_workspace,
                                                                           proxy, docker_api):
    stopped, absent = make_workspace("stopped"), make_workspace("absent")
    made = Engine().run(stopped, parse_request({"template": CLAUDE}))  # straight to the engine
    Engine().stop(stopped)

    # The editor opens before Docker is up (the usual order at login on macOS).
    proxy.refuse()
    s = await sessions([stopped, absent], options=TEMPLATE, env=env_for(proxy),
                       configuration={uri(absent): {"template": CLAUDE, "autoStart": "always"}})
    await wait_latest(s, {stopped: "unavailable", absent: "unavailable"}, 30)
    assert sandboxes_of(docker_api, absent) == []

    proxy.refuse(False)
    # `existing` (the default) starts the stopped sandbox; `always` also creates the absent one.
    started = await s.wait_status(stopped, "running", timeout=30)
    assert started["sandbox"]["id"] == made.sandbox.id
    created = await s.wait_status(absent, "running", timeout=30)
    [container] = sandboxes_of(docker_api, absent)
    assert created["sandbox"]["id"] == container["Id"][:12]
    assert [c["State"] for c in sandboxes_of(docker_api, stopped)] == ["running"]


async def test_a_silent_event_stream_is_noticed_and_reopened(sessions, workspace, proxy):
    s = await sessions([workspace], options=TEMPLATE, env=env_for(proxy))
    result = await s.request("sandbox/run")
    await wait_latest(s, {workspace: "running"}, 30)

    # The event stream's connection stays open but nothing comes through it any more.
    assert proxy.black_hole(r"/events") == 1
    mark = len(s.statuses)
    subprocess.run(["docker", "stop", "-t", "1", result["id"]], check=True, capture_output=True)
    await s.wait_status(workspace, "stopped", after=mark, timeout=2 * BOUND + 10)
    # The engine answered all along: the silent stream was re-opened without calling it unavailable.
    assert "unavailable" not in [st["state"] for st in s.statuses[mark:]]

    mark = len(s.statuses)
    subprocess.run(["docker", "start", result["id"]], check=True, capture_output=True)
    await s.wait_status(workspace, "running", after=mark, timeout=BOUND + 10)
