"""Emacs's eglot (Debian's emacs-nox + elpa-eglot) drives berth-server end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import CLAUDE, sandboxes_of

HERE = Path(__file__).parent


def test_eglot_runs_a_sandbox_and_sees_its_status(workspace, tmp_path, docker_api):
    emacs = shutil.which("emacs")
    assert emacs, "Emacs is part of the test set-up (apt emacs-nox elpa-eglot); test-all installs it"
    out = tmp_path / "seen.json"
    env = {**os.environ, "BERTH_PYTHON": sys.executable, "BERTH_WS": workspace,
           "BERTH_TEMPLATE": CLAUDE, "BERTH_OUT": str(out), "HOME": str(tmp_path)}
    subprocess.run([emacs, "--batch", "-Q", "-l", str(HERE / "berth_client.el")], env=env,
                   timeout=120, check=True, stdin=subprocess.DEVNULL, capture_output=True)
    seen = json.loads(out.read_text())
    assert "failure" not in seen, seen.get("failure")
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
