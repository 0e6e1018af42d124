"""Neovim's built-in LSP client (Debian's neovim) drives berth-server end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import CLAUDE, sandboxes_of

HERE = Path(__file__).parent


def test_neovim_runs_a_sandbox_and_sees_its_status(workspace, tmp_path, docker_api):
    nvim = shutil.which("nvim")
    assert nvim, "Neovim is part of the test set-up (apt neovim); scripts/test-all.sh installs it"
    out = tmp_path / "seen.json"
    env = {**os.environ, "BERTH_PYTHON": sys.executable, "BERTH_WS": workspace,
           "BERTH_TEMPLATE": CLAUDE, "BERTH_OUT": str(out), "HOME": str(tmp_path)}
    subprocess.run([nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c",
                    f"luafile {HERE / 'berth_client.lua'}"], env=env, timeout=120, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    seen = json.loads(out.read_text())
    assert "failure" not in seen, seen.get("failure")
    assert seen["statuses"][0] == "absent"
    assert seen["statuses"][-1] == "running"
    assert "error" not in seen["run"], seen["run"]
    assert seen["run"]["workspace"] == workspace and seen["run"]["template"] == CLAUDE
    assert seen["run"]["attach"]["argv"][-1] == "-c"
    assert seen["run"]["id"] in [s["id"] for s in seen["list"]]
    assert seen["bad"]["code"] == -32602 and "must be absolute" in seen["bad"]["message"]
    assert len(sandboxes_of(docker_api, workspace)) == 1
