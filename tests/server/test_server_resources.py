"""Resource limits over the protocol: a sandbox that runs out of memory says so in its status."""

from __future__ import annotations

import subprocess

from support.images import CLAUDE

# Takes more than 32m, and offers itself first to the kernel's OOM killer (any process may raise its
# own score): the kernel ends it, not the sandbox's main process.
HOG = "echo 1000 > /proc/self/oom_score_adj; head -c 200000000 /dev/zero | tail -c 100000000 >/dev/null"


async def test_a_process_killed_for_memory_is_reported_in_the_status_until_the_next_start(
        sessions, workspace):
    s = await sessions([workspace], options={"template": CLAUDE, "memory": "32m",
                                             "networkPolicy": "open"})
    await s.wait_status(workspace, "absent")
    started = await s.request("sandbox/run", {})
    assert started["resources"]["memory"] == "32m"
    await s.wait_status(workspace, "running")
    assert "message" not in s.latest(workspace)

    # The agent (or anything it runs) takes more than the limit: the kernel ends it, the sandbox
    # goes on, and the status says why the process died.
    mark = len(s.statuses)
    hog = subprocess.run(["docker", "exec", started["name"], "sh", "-c", HOG])
    assert hog.returncode == 137
    oom = await s.wait_status(workspace, lambda st: "Out of memory" in st.get("message", ""),
                              after=mark)
    assert oom["state"] == "running"
    assert oom["message"] == ("Out of memory: the kernel ended a process in the sandbox (its "
                              "memory limit is 32m); a larger 'memory' takes a recreate.")

    # Stopped, it still says so: the engine keeps that record of its last run, which a restarted
    # server reads too. A new start is a clean slate.
    mark = len(s.statuses)
    await s.request("sandbox/stop", {})
    stopped = await s.wait_status(
        workspace, lambda st: st["state"] == "stopped" and "message" in st, after=mark)
    assert stopped["sandbox"]["oomKilled"] is True
    assert stopped["message"] == ("Out of memory: the kernel ended a process in the sandbox "
                                  "before it stopped (its memory limit is 32m).")
    later = await sessions([workspace], options={"template": CLAUDE})
    seen = await later.wait_status(workspace, "stopped")
    assert seen["message"] == stopped["message"]
    mark = len(s.statuses)
    await s.request("sandbox/run", {})
    fresh = await s.wait_status(workspace, "running", after=mark)
    assert "message" not in fresh
