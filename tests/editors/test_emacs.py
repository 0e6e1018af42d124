"""Emacs's eglot (Debian's emacs-nox + elpa-eglot) drives berth-server end to end."""

from __future__ import annotations

from support.containers import sandboxes_of
from support.editors import HERE, drive_editor
from support.images import CLAUDE


def test_eglot_runs_a_sandbox_and_sees_its_status(workspace, tmp_path, docker_api):
    seen = drive_editor("emacs", ["--batch", "-Q", "-l", str(HERE / "berth_client.el")],
                        workspace, tmp_path)
    assert seen["first"] == "absent"
    assert seen["statuses"][-1] == "running"
    # eglot answers workspace/configuration from eglot-workspace-configuration: the template came
    # from there, not from a default.
    assert seen["run"]["template"] == CLAUDE and seen["run"]["workspace"] == workspace
    assert seen["run"]["attach"]["argv"][-1] == "-c"
    assert seen["bad"] == {"code": -32602,
                           "message": "Volume host path 'relative' must be absolute."}
    assert seen["run"]["id"] in [s["id"] for s in seen["list"]]
    assert len(sandboxes_of(docker_api, workspace)) == 1
    # docs/network.md's handler sees the block; changePolicy allows it.
    assert "failure" not in seen, seen.get("failure")
    assert seen["block"] == {"agent": "claude", "host": "example.com", "port": 80,
                             "rule": "not in the balanced policy or any allow rule"}
    assert seen["allowed"]["liveAllow"] == ["example.com"]
