"""Neovim's built-in LSP client (Debian's neovim) drives berth-server end to end."""

from __future__ import annotations

from support.containers import sandboxes_of
from support.editors import HERE, drive_editor
from support.images import CLAUDE


def test_neovim_runs_a_sandbox_and_sees_its_status(workspace, tmp_path, docker_api):
    script = HERE / "berth_client.lua"
    seen = drive_editor("nvim", ["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c",
                                 f"luafile {script}"], workspace, tmp_path)
    assert seen["statuses"][0] == "absent"
    assert seen["statuses"][-1] == "running"
    assert "error" not in seen["run"], seen["run"]
    assert seen["run"]["workspace"] == workspace and seen["run"]["template"] == CLAUDE
    assert seen["run"]["attach"]["argv"][-1] == "-c"
    assert seen["run"]["id"] in [s["id"] for s in seen["list"]]
    assert seen["bad"]["code"] == -32602 and "must be absolute" in seen["bad"]["message"]
    assert len(sandboxes_of(docker_api, workspace)) == 1
    # docs/network.md's handler: the block arrives, Allow adds the rule.
    assert "failure" not in seen, seen.get("failure")
    assert seen["prompt"] == "claude was blocked from example.com:80"
    assert seen["block"]["rule"] == "not in the balanced policy or any allow rule"
    assert seen["policy"]["liveAllow"] == ["example.com"]
