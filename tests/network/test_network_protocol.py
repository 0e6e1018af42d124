"""The network-policy requests and the blocked-request notification, from a berth-server over stdio,
against the real engine and a sandbox of the real agent template."""

from __future__ import annotations

from support.images import REAL
from support.reliability import assert_clean_error

DEBIAN = "https://deb.debian.org/debian/"


async def curl(session, workspace: str, url: str) -> str:
    out = await session.request("sandbox/exec", {"workspace": workspace, "command": [
        "curl", "-sS", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", url]})
    return out["stdout"] if out["exitCode"] == 0 else out["stderr"]


async def test_a_block_is_notified_once_and_allowing_it_works_at_once(sessions, make_workspace,
                                                                    real_template):
    workspace = make_workspace("notify")
    s = await sessions([workspace], options={"template": REAL, "networkPolicy": "locked"})
    ran = await s.request("sandbox/run")
    assert ran["networkPolicy"] == "locked"
    await s.wait_status(workspace, "running")
    for _ in range(3):  # an agent retrying: one notification
        assert "403" in await curl(s, workspace, DEBIAN)
    assert "403" in await curl(s, workspace, "https://example.com/")
    # The follower reads the log in order: once example.com's arrives, every earlier one has.
    await s.wait_block(lambda b: b["host"] == "example.com")
    [debian] = [b for b in s.blocks if b["host"] == "deb.debian.org"]
    assert debian == {**debian, "workspace": workspace, "sandbox": ran["id"], "agent": "claude",
                      "port": 443, "rule": "not in the locked policy or any allow rule"}
    assert debian["time"].startswith("20")

    changed = await s.request("sandbox/changePolicy", {"allow": ["deb.debian.org"]})
    assert changed["liveAllow"] == ["deb.debian.org"] and changed["policy"] == "locked"
    assert await curl(s, workspace, DEBIAN) == "200"
    assert (await s.request("sandbox/policy"))["liveAllow"] == ["deb.debian.org"]
    log = await s.request("sandbox/networkLog", {"tail": 2})
    assert [b["host"] for b in log["blocked"]] == ["deb.debian.org", "example.com"]

    changed = await s.request("sandbox/changePolicy", {"reset": True, "deny": ["*.debian.org"]})
    assert changed["liveAllow"] == [] and changed["liveDeny"] == ["*.debian.org"]
    await curl(s, workspace, DEBIAN)
    block = await s.wait_block(lambda b: b["rule"] == "deny *.debian.org")
    assert block["host"] == "deb.debian.org"


async def test_bad_policy_requests_get_clear_errors(sessions, make_workspace, real_template):
    workspace = make_workspace("badpolicy")
    s = await sessions([workspace], options={"template": REAL, "networkPolicy": "locked"})
    await s.request("sandbox/run")
    for params, says in (({}, "Nothing to change"),
                         ({"allow": "x.test"}, "'allow' must be a list of strings"),
                         ({"allow": ["x y"]}, "Host pattern 'x y'"),
                         ({"reset": "yes"}, "'reset' must be true or false"),
                         ({"alow": ["x.test"]}, "Unknown parameter 'alow'")):
        error = await s.error("sandbox/changePolicy", params)
        assert_clean_error(error)
        assert says in error.message, (params, error.message)
    assert (await s.request("sandbox/policy"))["liveAllow"] == []
    error = await s.error("sandbox/networkLog", {"tail": -1})
    assert "'tail' must be a whole number" in error.message


async def test_named_and_agent_branch_sandboxes_each_have_their_policy_and_notify(
        sessions, make_workspace, real_template, tmp_path, monkeypatch):
    import os
    import subprocess

    from support.images import HOST_UID

    monkeypatch.setenv("BERTH_WORKTREES", str(tmp_path / "trees"))
    workspace = make_workspace("repo")
    git = ["git", "-c", "safe.directory=*", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "--initial-branch=main"], cwd=workspace, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "first"], cwd=workspace, check=True)
    subprocess.run(["chown", "-R", f"{HOST_UID}:{HOST_UID}", workspace], check=True)
    s = await sessions([workspace], options={"template": REAL, "networkPolicy": "locked"})
    review = f"review-{os.urandom(3).hex()}"
    made = []
    try:
        named = await s.request("sandbox/run", {"name": review, "networkPolicy": "balanced"})
        made.append(named["id"])
        branch = await s.request("sandbox/run", {"branch": "locked-agent"})
        made.append(branch["id"])
        tree = branch["worktree"]["path"]
        # Each has its own proxy and rules: the named one's balanced policy lets Debian through.
        got = await s.request("sandbox/exec", {"name": review, "command": [
            "curl", "-sS", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", DEBIAN]})
        assert got["stdout"] == "200", got
        assert (await s.request("sandbox/policy", {"name": review}))["policy"] == "balanced"
        assert "403" in await curl(s, tree, DEBIAN)
        block = await s.wait_block(lambda b: b["workspace"] == tree)
        assert block["sandbox"] == branch["id"] and block["host"] == "deb.debian.org"
        await s.request("sandbox/changePolicy", {"workspace": tree, "allow": ["deb.debian.org"]})
        assert await curl(s, tree, DEBIAN) == "200"
        assert (await s.request("sandbox/policy", {"name": review}))["liveAllow"] == []
    finally:
        if made:
            await s.request("sandbox/remove", {"ids": made})
        if len(made) == 2:
            await s.request("sandbox/removeWorktree", {"branch": "locked-agent"})
