"""`kill -9` of the server in the middle of creating a sandbox, and what a crash can leave behind."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from berth import __version__, labels
from berth.agents import get_agent
from berth.config import parse_request
from berth.container_setup import IDLE_ENTRYPOINT
from berth.engine.setup import mounts
from berth.workspace import default_sandbox_name, workspace_key
from support.containers import sandboxes_of
from support.images import CLAUDE
from support.reliability import (
    TEMPLATE,
    server_pid,
)


async def assert_recovers(sessions, workspace, docker_api, before_ids=()):
    """A new server's run yields exactly one running sandbox, fully set up."""
    s = await sessions([workspace], options=TEMPLATE)
    result = await s.request("sandbox/run")
    containers = sandboxes_of(docker_api, workspace)
    assert [(c["Id"][:12], c["State"]) for c in containers] == [(result["id"], "running")]
    if before_ids:
        assert result["id"] in before_ids  # adopted, not duplicated or replaced needlessly
    out = await s.request("sandbox/exec", {"command": ["sh", "-c", "id -u; readlink ~/.claude"]})
    assert out["stdout"].split() == ["1234", "/mnt/claude-data"], out
    await s.wait_status(workspace, "running")
    return result


# Where to kill: on a status the server pushes (its phase), then after a delay within that phase.
KILL_POINTS = [(None, 0.0), ("creating", 0.0), ("creating", 0.05), ("starting", 0.0),
               ("starting", 0.02), ("starting", 0.08), ("starting", 0.2)]


@pytest.mark.parametrize("phase, delay", KILL_POINTS)
async def test_kill_9_during_run_leaves_nothing_a_run_cannot_fix(sessions, workspace, docker_api,
                                                                 phase, delay):
    s = await sessions([workspace], options=TEMPLATE)
    await s.wait_status(workspace, "absent")
    mark = len(s.statuses)
    pending = asyncio.ensure_future(s.request("sandbox/run"))
    if phase:
        await s.wait_status(workspace, phase, after=mark, timeout=30)
    await asyncio.sleep(delay)  # the kill point under test, not a wait for anything
    os.kill(server_pid(s), signal.SIGKILL)
    await s.process.wait()
    pending.cancel()
    left = sandboxes_of(docker_api, workspace)
    assert len(left) <= 1, left
    await assert_recovers(sessions, workspace, docker_api, [c["Id"][:12] for c in left])


def half_made(docker_api, workspace: str, *, start: bool) -> str:
    """The container Berth's create makes, before its start (and setup): what a crash leaves."""
    config = parse_request({"template": CLAUDE}).resolve()
    created = docker_api.create_container(
        CLAUDE, name=default_sandbox_name("claude", workspace), entrypoint=IDLE_ENTRYPOINT,
        user="0", working_dir=workspace,
        labels=labels.sandbox_labels(workspace, workspace_key(workspace), config, "agent",
                                     __version__),
        host_config=docker_api.create_host_config(
            mounts=mounts(workspace, config, get_agent("claude"))))
    if start:
        docker_api.start(created["Id"])
    return created["Id"][:12]


@pytest.mark.parametrize("start", [False, True], ids=["created", "started-not-set-up"])
async def test_half_made_sandbox_is_adopted(sessions, workspace, docker_api, start):
    made = half_made(docker_api, workspace, start=start)
    result = await assert_recovers(sessions, workspace, docker_api, [made])
    assert not result["created"]
