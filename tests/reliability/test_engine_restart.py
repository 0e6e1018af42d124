"""dockerd itself stops and comes back while a server has folders open.

Marked engine_restart: it stops the machine's only engine, so CI runs it last, in a pytest call of its
own. dockerd is ALWAYS started again in a finally, whatever the test did.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from berth.config import parse_request
from berth.engine import Engine
from support.cli import berth, fetch
from support.containers import sandboxes_of
from support.images import CLAUDE
from support.reliability import (
    TEMPLATE,
    assert_clean_error,
    start_dockerd,
    stop_dockerd,
)

pytestmark = pytest.mark.engine_restart

# Berth's state for each engine container state (models._ENGINE_STATE).
STATE = {"running": "running", "exited": "stopped", "created": "stopped"}


async def test_engine_restart_is_survived_without_restarting_the_server(
        sessions, make_workspace, docker_api):
    running, stopped, absent, unopened = (make_workspace(n) for n in
                                          ("running", "stopped", "absent", "unopened"))
    s = await sessions([running, stopped, absent], options=TEMPLATE)
    ran = await s.request("sandbox/run", {"workspace": running})
    await s.request("sandbox/run", {"workspace": stopped})
    await s.request("sandbox/stop", {"workspace": stopped})
    await s.wait_status(running, "running")
    await s.wait_status(stopped, "stopped")
    await s.wait_status(absent, "absent")

    mark = len(s.statuses)
    try:
        stop_dockerd()
        gone_at = time.monotonic()
        # Within seconds of the engine going away, every open folder says so.
        for folder in (running, stopped, absent):
            status = await s.wait_status(folder, "unavailable", after=mark, timeout=8)
            assert "Docker engine is not answering" in status["message"]
        assert time.monotonic() - gone_at < 8
        # Requests meanwhile fail clearly, with the engine-unavailable code, and quickly.
        for method, params in (("sandbox/run", {"workspace": absent}),
                               ("sandbox/list", {}),
                               ("sandbox/exec", {"workspace": running, "command": ["true"]}),
                               ("sandbox/remove", {"workspace": running})):
            started = time.monotonic()
            error = await s.error(method, params)
            assert_clean_error(error, codes={-32002})
            assert error.data["kind"] == "engineUnavailable" and "Start Docker" in error.message
            assert time.monotonic() - started < 10
        statuses = await s.request("sandbox/status")
        assert {x["state"] for x in statuses} == {"unavailable"}
        back_mark = len(s.statuses)
    finally:
        start_dockerd()

    # The same server, not restarted, reports the engine's truth again for every folder.
    for folder in (running, stopped):
        [container] = sandboxes_of(docker_api, folder)
        truth = STATE[container["State"]]
        status = await s.wait_status(folder, truth, after=back_mark, timeout=30)
        assert status["sandbox"]["id"] == container["Id"][:12]
    assert (await s.wait_status(absent, "absent", after=back_mark))["sandbox"] is None

    # No event is lost from here on: changes made by others right after the engine returned, and
    # a sandbox of a folder this server never opened (only the event stream can tell it of that).
    mark = len(s.statuses)
    Engine().run(unopened, parse_request({"template": CLAUDE}))
    docker_api.start(ran["id"])
    await s.wait_status(unopened, "running", after=mark)
    await s.wait_status(running, "running", after=mark)
    docker_api.stop(ran["id"], timeout=1)
    await s.wait_status(running, "stopped", after=mark)

    # And requests work again.
    again = await s.request("sandbox/run", {"workspace": absent})
    assert again["created"] and again["status"] == "running"
    assert len(sandboxes_of(docker_api, absent)) == 1
    await asyncio.wait_for(s.wait_status(absent, "running", after=mark), 30)


def test_a_filtered_sandbox_keeps_its_rules_across_an_engine_restart(make_workspace, docker_api,
                                                                     real_template):
    workspace = make_workspace("filtered")
    made = berth("run", "-d", "-q", "-t", real_template, "--network-policy", "locked", "claude",
                 cwd=workspace)
    assert made.returncode == 0, made.stderr
    assert berth("policy", "allow", "deb.debian.org", cwd=workspace).returncode == 0
    try:
        stop_dockerd()
    finally:
        start_dockerd()
    # The engine starts neither again; `run` starts both, and the rule added live is still there.
    again = berth("run", "-d", "-q", "-t", real_template, "claude", cwd=workspace)
    assert again.returncode == 0 and again.stdout.strip() == made.stdout.strip(), again.stderr
    shown = berth("policy", "show", "--json", cwd=workspace)
    assert json.loads(shown.stdout)["liveAllow"] == ["deb.debian.org"]
    assert fetch(workspace, "https://deb.debian.org/debian/") == "200"
    assert "403" in fetch(workspace, "https://example.com/")
