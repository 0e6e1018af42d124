"""Several sandboxes per workspace over the protocol: `name` picks one, and each has its own status."""

from __future__ import annotations

import os
import subprocess

from support.images import CLAUDE

TEMPLATE = {"template": CLAUDE}


async def test_each_sandbox_of_a_folder_has_its_own_status_and_requests_take_its_name(
        sessions, workspace):
    review = f"review-{os.urandom(3).hex()}"
    s = await sessions([workspace], options=TEMPLATE)
    await s.wait_status(workspace, "absent")
    default = await s.request("sandbox/run", {})
    named = await s.request("sandbox/run", {"name": review})
    assert named["name"] == review and named["named"] is True and default["named"] is False
    assert named["id"] != default["id"]
    running = await s.wait_status(workspace, "running", name=review)
    assert running["name"] == review and running["sandbox"]["id"] == named["id"]

    # Stopping the named one changes its status only.
    mark = len(s.statuses)
    stopped = await s.request("sandbox/stop", {"name": review})
    assert stopped["id"] == named["id"]
    await s.wait_status(workspace, "stopped", name=review, after=mark)
    assert s.latest(workspace)["state"] == "running"

    # One status request answers for every sandbox of the folder, the default one first.
    statuses = await s.request("sandbox/status", {})
    assert [(x["name"], x["state"]) for x in statuses] == [(None, "running"), (review, "stopped")]
    [one] = await s.request("sandbox/status", {"name": review})
    assert one["state"] == "stopped"

    # exec, logs and inspect take it too; a name it lacks is a clear notFound.
    await s.request("sandbox/run", {"name": review})
    out = await s.request("sandbox/exec", {"name": review, "command": ["hostname"]})
    assert out["exitCode"] == 0
    [details] = await s.request("sandbox/inspect", {"name": review})
    assert details["labels"]["dev.berth.name"] == review
    error = await s.error("sandbox/logs", {"name": "no-such-one"})
    assert error.code == -32001 and "no sandbox named 'no-such-one'" in error.message

    # A change made outside (the CLI, `docker`) is pushed for the named one as well.
    mark = len(s.statuses)
    subprocess.run(["docker", "stop", "-t", "0", review], check=True, capture_output=True)
    await s.wait_status(workspace, "stopped", name=review, after=mark)

    mark = len(s.statuses)
    await s.request("sandbox/remove", {"name": review})
    await s.wait_status(workspace, "absent", name=review, after=mark)
    assert s.latest(workspace)["state"] == "running"


async def test_a_restarted_server_reports_the_named_sandboxes_it_finds(sessions, workspace):
    review = f"review-{os.urandom(3).hex()}"
    first = await sessions([workspace], options=TEMPLATE)
    await first.request("sandbox/run", {"name": review})
    second = await sessions([workspace], options=TEMPLATE)
    seen = await second.wait_status(workspace, "running", name=review)
    assert seen["sandbox"]["name"] == review
    assert second.latest(workspace)["state"] == "absent"
