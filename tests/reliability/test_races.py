"""Concurrent requests for one folder: in one server, and in two servers (two editor windows)."""

from __future__ import annotations

import asyncio

import pytest
from pygls.exceptions import JsonRpcException
from support.containers import sandboxes_of
from support.reliability import (
    TEMPLATE,
    assert_clean_error,
)


def assert_one_good_sandbox(docker_api, workspace: str) -> str:
    containers = sandboxes_of(docker_api, workspace)
    assert len(containers) == 1, [(c["Id"][:12], c["State"]) for c in containers]
    assert containers[0]["State"] == "running"
    return containers[0]["Id"][:12]


async def set_up_properly(session, workspace: str) -> None:
    """The one-time setup ran: the agent user has the workspace owner's uid and its login link."""
    out = await session.request("sandbox/exec", {"workspace": workspace, "command": [
        "sh", "-c", "id -u; readlink ~/.claude"]})
    assert out["stdout"].split() == ["1234", "/mnt/claude-data"], out


@pytest.mark.parametrize("windows", [1, 2])
async def test_concurrent_runs_make_exactly_one_sandbox(sessions, make_workspace, docker_api,
                                                       windows):
    for attempt in range(3):
        workspace = make_workspace(f"race{attempt}")
        servers = [await sessions([workspace], options=TEMPLATE) for _ in range(windows)]
        callers = [servers[i % windows] for i in range(4)]
        results = await asyncio.gather(*(c.request("sandbox/run") for c in callers))
        sandbox_id = assert_one_good_sandbox(docker_api, workspace)
        assert {r["id"] for r in results} == {sandbox_id}
        assert all(r["status"] == "running" for r in results)
        assert sum(r["created"] for r in results) == 1
        for server in servers:
            await server.wait_status(workspace, "running")
        await set_up_properly(servers[-1], workspace)


async def settle(task):
    try:
        return await task
    except JsonRpcException as exc:
        assert_clean_error(exc)
        return exc


@pytest.mark.parametrize("windows", [1, 2])
async def test_remove_during_run_and_run_during_remove(sessions, workspace, docker_api,
                                                      windows):
    servers = [await sessions([workspace], options=TEMPLATE) for _ in range(windows)]
    runner, remover = servers[0], servers[-1]
    for first, delay in [("run", 0), ("run", 0.05), ("run", 0.15), ("run", 0.3),
                         ("remove", 0), ("remove", 0.02), ("remove", 0.08)]:
        if first == "remove":
            await runner.request("sandbox/run")  # something to remove
        run = lambda: runner.request("sandbox/run")  # noqa: E731
        remove = lambda: remover.request("sandbox/remove")  # noqa: E731
        a = asyncio.ensure_future((run if first == "run" else remove)())
        await asyncio.sleep(delay)  # the interleaving under test, not a wait for anything
        b = asyncio.ensure_future((remove if first == "run" else run)())
        results = [await settle(a), await settle(b)]
        # Whatever won, no orphan: either nothing, or one running sandbox that the servers report.
        containers = sandboxes_of(docker_api, workspace)
        assert len(containers) <= 1, (first, delay, containers)
        if containers:
            assert containers[0]["State"] == "running", (first, delay, containers[0]["State"],
                                                         [str(r) for r in results])
        want = "running" if containers else "absent"
        for server in servers:
            status = (await server.request("sandbox/status"))[0]
            assert status["state"] == want, (first, delay, results, status)
        # And a run afterwards always gives exactly one working sandbox.
        await runner.request("sandbox/run")
        assert_one_good_sandbox(docker_api, workspace)
        await set_up_properly(runner, workspace)
        await remover.request("sandbox/remove")


def test_runs_from_separate_processes_at_the_same_instant(make_workspace, docker_api):
    """Like three windows pressing run at once, but tighter than three servers can be driven:
    each Engine has its own locks, as each process does, and they meet only at the engine."""
    import threading

    from berth.config import parse_request
    from berth.engine import Engine
    from support.images import CLAUDE

    for attempt in range(10):
        workspace = make_workspace(f"instant{attempt}")
        engines = [Engine() for _ in range(3)]
        for e in engines:
            e.ping()  # connected beforehand, so the three creates leave together
        barrier = threading.Barrier(3)
        results, errors = [], []

        def run(engine, barrier=barrier, results=results, errors=errors, workspace=workspace):
            barrier.wait()
            try:
                results.append(engine.run(workspace, parse_request({"template": CLAUDE})))
            except Exception as exc:  # collected: every caller must get the sandbox
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], (attempt, [str(e) for e in errors])
        sandbox_id = assert_one_good_sandbox(docker_api, workspace)
        assert {r.sandbox.id for r in results} == {sandbox_id}
        assert sum(r.created for r in results) == 1
        out = engines[0].exec(workspace, ["sh", "-c", "id -u; readlink ~/.claude"])
        assert out.stdout.split() == ["1234", "/mnt/claude-data"]
