"""Changes made with the docker CLI behind Berth's back, beyond tests/server's stop/rename/start/rm."""

from __future__ import annotations

import subprocess

from support.containers import sandboxes_of
from support.images import CLAUDE
from support.reliability import (
    TEMPLATE,
    assert_clean_error,
)


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


async def test_kill_pause_and_rename_are_reported_and_run_repairs(sessions, workspace,
                                                                 docker_api):
    s = await sessions([workspace], options=TEMPLATE)
    result = await s.request("sandbox/run")
    await s.wait_status(workspace, "running")

    mark = len(s.statuses)
    docker("kill", result["id"])
    await s.wait_status(workspace, "stopped", after=mark)
    again = await s.request("sandbox/run")
    assert again["id"] == result["id"] and again["status"] == "running"

    mark = len(s.statuses)
    docker("pause", result["id"])
    paused = await s.wait_status(workspace, "stopped", after=mark)
    assert paused["sandbox"]["status"] == "paused"
    error = await s.error("sandbox/exec", {"command": ["true"]})
    assert_clean_error(error, codes={-32004})
    assert "paused" in error.message
    mark = len(s.statuses)
    assert (await s.request("sandbox/run"))["status"] == "running"
    await s.wait_status(workspace, "running", after=mark)

    # Renamed by hand, and a stranger takes the old name: Berth keeps to its own sandbox.
    mark = len(s.statuses)
    docker("rename", result["name"], f"{result['name']}-moved")
    stranger = docker_api.create_container(CLAUDE, command=["sleep", "60"], name=result["name"])
    try:
        await s.wait_status(workspace, lambda st: st["sandbox"]["name"].endswith("-moved"),
                            after=mark)
        again = await s.request("sandbox/run")
        assert again["id"] == result["id"] and again["name"] == f"{result['name']}-moved"
        assert [c["Id"][:12] for c in sandboxes_of(docker_api, workspace)] == [result["id"]]
        [info] = await s.request("sandbox/inspect", {"ids": [f"{result['name']}-moved"]})
        assert info["id"] == result["id"]
        # The old name is the stranger's now: not Berth's to inspect, stop or remove.
        for method in ("sandbox/inspect", "sandbox/remove"):
            error = await s.error(method, {"ids": [result["name"]]})
            assert_clean_error(error, codes={-32001})
        listed = await s.request("sandbox/list")
        assert stranger["Id"][:12] not in [x["id"] for x in listed]
    finally:
        docker_api.remove_container(stranger["Id"], force=True)


async def test_a_stranger_reusing_the_sandbox_name_is_never_touched(sessions, workspace,
                                                                   docker_api):
    s = await sessions([workspace], options=TEMPLATE)
    result = await s.request("sandbox/run")
    await s.wait_status(workspace, "running")
    mark = len(s.statuses)
    docker("rm", "-f", result["id"])
    await s.wait_status(workspace, "absent", after=mark)

    # Someone else's container now has the sandbox's name -- one even dressed in Berth's
    # workspace label, but without Berth's marker.
    stranger = docker_api.create_container(
        CLAUDE, command=["sleep", "60"], name=result["name"],
        labels={"dev.berth.workspace": workspace, "dev.berth.agent": "claude"})
    try:
        statuses = await s.request("sandbox/status")
        assert statuses[0]["state"] == "absent" and statuses[0]["sandbox"] is None
        error = await s.error("sandbox/run")
        assert_clean_error(error, codes={-32004})
        assert "not this workspace's sandbox" in error.message and "another name" in error.message
        for method, params in (("sandbox/stop", {}), ("sandbox/remove", {}),
                               ("sandbox/remove", {"ids": [result["name"]]}),
                               ("sandbox/inspect", {"ids": [stranger["Id"][:12]]}),
                               ("sandbox/exec", {"command": ["true"]})):
            assert_clean_error(await s.error(method, params), codes={-32001})
        await s.request("sandbox/remove", {"all": True})
        info = docker_api.inspect_container(stranger["Id"])
        assert info["State"]["Status"] == "created" and info["Name"] == "/" + result["name"]
        assert sandboxes_of(docker_api, workspace) == []
        # Under another name the workspace gets its sandbox, beside the stranger.
        named = await s.request("sandbox/run", {"name": "berth-elsewhere-" + result["id"]})
        assert named["created"] and named["status"] == "running"
    finally:
        docker_api.remove_container(stranger["Id"], force=True)
